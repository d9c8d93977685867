"""Webhook endpoints and their delivery ledger; integrations and the calls made to them.

The ledger follows Saleor's: an endpoint subscribes to events; each event becomes one
``WebhookDelivery`` per subscribed endpoint (unique, so an event is delivered once per
endpoint); every HTTP request made for it is a ``WebhookDeliveryAttempt`` row.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core.models.base import TimestampedModel


class WebhookEndpoint(TimestampedModel):
    """A URL that receives signed POSTs for the events it subscribes to."""

    name = models.CharField(max_length=120)
    url = models.CharField(
        max_length=2000, help_text="http(s) URL; may hold credentials, so never shown in logs."
    )
    description = models.CharField(max_length=300, blank=True)
    # Event names of DESIGN §4, or ["*"] for every event.
    event_types = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="E-mailed when the endpoint is disabled for failing.",
    )
    # TRICKY: secrets are kept in clear because every request is signed with them (as
    # Stripe and Saleor do); they are shown once, when created or rotated, and never logged.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)
    # Failure streak (attempts, across deliveries) since the last success: drives auto-disable.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_automatically = models.BooleanField(default=False)

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self) -> str:
        return self.name

    def subscribes_to(self, event_name: str) -> bool:
        return "*" in self.event_types or event_name in self.event_types


class WebhookDelivery(TimestampedModel):
    """One body for one endpoint: retried on its own schedule until it succeeds or gives up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Delivered"
        FAILED = "failed", "Failed (gave up)"
        CANCELLED = "cancelled", "Stopped (endpoint disabled)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        "core.DomainEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_name = models.CharField(max_length=64, db_index=True)
    # Unique: "event:<event id>" for subscriptions, the caller's key for workflow calls.
    idempotency_key = models.CharField(max_length=200)
    # The exact JSON text that is signed and sent, frozen when the delivery is created.
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "idempotency_key"], name="uniq_webhook_delivery_key"
            )
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(fields=["status", "completed_at"]),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_name} → {self.endpoint_id}"

    @property
    def is_finished(self) -> bool:
        return self.status != self.Status.PENDING


class WebhookDeliveryAttempt(models.Model):
    """One HTTP request for a delivery: what was sent, what came back, how long it took."""

    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        SUCCESS = "success", "Success"
        RETRY = "retry", "Failed, will retry"
        FAILED = "failed", "Failed"

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    is_replay = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    request_url = models.CharField(max_length=2000, help_text="Without credentials or query.")
    request_headers = models.JSONField(default=dict)
    request_body = models.TextField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_excerpt = models.TextField(blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="uniq_attempt_number")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


class Integration(TimestampedModel):
    """Anything we call or that calls us: its health over the last 24 hours and its state."""

    class Kind(models.TextChoices):
        SMTP = "smtp", "Outgoing e-mail (SMTP)"
        IMAP = "imap", "Incoming e-mail (IMAP)"
        LEAD_SOURCE = "lead_source", "Lead source"
        PAYMENT_GATEWAY = "payment_gateway", "Payment gateway"
        WEBHOOK = "webhook", "Webhook endpoint"
        OTHER = "other", "Other"

    class State(models.TextChoices):
        IDLE = "idle", "No calls in 24 h"
        HEALTHY = "healthy", "Healthy"
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=120, help_text="Stable name within its kind.")
    label = models.CharField(max_length=200)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IDLE)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # Figures of the last evaluation (the sweep), over the 24 hours before it.
    evaluated_at = models.DateTimeField(null=True, blank=True)
    calls_24h = models.PositiveIntegerField(default=0)
    failures_24h = models.PositiveIntegerField(default=0)
    p50_ms = models.PositiveIntegerField(null=True, blank=True)
    p95_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "label"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="uniq_integration")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"

    @property
    def failure_rate(self) -> float | None:
        return self.failures_24h / self.calls_24h if self.calls_24h else None

    @property
    def is_unhealthy(self) -> bool:
        return self.state in {self.State.DEGRADED, self.State.DOWN}


class IntegrationCall(models.Model):
    """One call to (or from) an integration: did it work, how long did it take."""

    id = models.BigAutoField(primary_key=True)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="calls")
    at = models.DateTimeField()
    ok = models.BooleanField()
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["integration", "-at"])]

    def __str__(self) -> str:
        return f"{self.integration_id} {'ok' if self.ok else 'failed'} at {self.at}"
