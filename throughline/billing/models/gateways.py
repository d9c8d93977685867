"""What online payment gateways told us: checkout sessions we opened and webhook events seen."""

from __future__ import annotations

from django.db import models

from throughline.billing.models.invoices import AMOUNT
from throughline.core.models.base import TimestampedModel


class CheckoutSession(TimestampedModel):
    """A hosted payment page opened from the client's "Pay now" (e.g. Stripe Checkout)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETE = "complete", "Paid"
        EXPIRED = "expired", "Expired"

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="checkout_sessions"
    )
    gateway = models.CharField(max_length=20)
    session_id = models.CharField(max_length=255)
    url = models.URLField(max_length=2000, blank=True)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    payment = models.ForeignKey(
        "billing.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "session_id"], name="uniq_checkout_session")
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.gateway} session {self.session_id} ({self.status})"


class GatewayEvent(models.Model):
    """A webhook event we accepted, once per gateway event id: a replay finds it and stops."""

    gateway = models.CharField(max_length=20)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["gateway", "event_id"], name="uniq_gateway_event")
        ]

    def __str__(self) -> str:
        return f"{self.gateway} {self.event_type} {self.event_id}"
