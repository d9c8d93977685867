"""Money received (payments), where it went (allocations) and what went back (refunds).

A payment is money from a client. Allocations spread it over invoices: usually one invoice,
several for a grouped bank transfer, and what is not allocated is the client's credit (an
overpayment), which a later invoice can use. Credit notes settle their invoice through
allocations too. Refunds send money back: from the unallocated part first, then by reversing
allocations (negative rows), newest first. Allocation rows are append-only; invoices keep the
sums (``amount_paid``, ``amount_credited``, ``amount_due``) equal to them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from throughline.billing.models.invoices import AMOUNT
from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import validate_currency


class Payment(TimestampedModel):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CHEQUE = "cheque", "Cheque"
        CASH = "cash", "Cash"
        CARD = "card", "Card (online)"
        OTHER = "other", "Other"

    MANUAL_METHODS = (Method.BANK_TRANSFER, Method.CHEQUE, Method.CASH, Method.OTHER)

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Received"
        FAILED = "failed", "Failed"
        # Booked by mistake (a bank statement match undone): never money received, so it
        # counts nowhere — reports and client credit look at succeeded payments only.
        REVERSED = "reversed", "Reversed (booked by mistake)"

    contact = models.ForeignKey("crm.Contact", on_delete=models.PROTECT, related_name="payments")
    invoice = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payments",
        help_text="The invoice it was paid for",
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    amount = models.DecimalField(**AMOUNT)
    received_on = models.DateField()
    method = models.CharField(max_length=16, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    notes = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUCCEEDED)
    failure_reason = models.CharField(max_length=300, blank=True)
    gateway = models.CharField(max_length=20, default="manual")
    gateway_reference = models.CharField(max_length=200, blank=True)
    amount_allocated = models.DecimalField(default=0, **AMOUNT)
    amount_refunded = models.DecimalField(default=0, **AMOUNT)
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    base_amount = models.DecimalField(null=True, blank=True, **AMOUNT)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    receipt_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_on", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payment_refund_within_amount",
            ),
            # allocated + refunded <= amount holds too, checked by the services: SQLite keeps
            # decimals as REAL, and a CHECK with arithmetic would fail on float rounding.
            models.CheckConstraint(
                condition=Q(amount_allocated__gte=0) & Q(amount_allocated__lte=F("amount")),
                name="payment_allocation_within_amount",
            ),
            # A gateway's payment is counted once, however often its webhook arrives.
            models.UniqueConstraint(
                fields=["gateway", "gateway_reference"],
                condition=Q(status="succeeded") & ~Q(gateway_reference=""),
                name="uniq_gateway_payment",
            ),
        ]
        indexes = [
            models.Index(fields=["contact", "currency", "status"]),
            # reports: what was received after a date (aging and DSO at past dates)
            models.Index(fields=["received_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} {self.amount} {self.currency} on {self.received_on}"

    @property
    def unallocated(self):
        """The client's credit left in this payment."""
        if self.status != self.Status.SUCCEEDED:
            return 0
        return self.amount - self.amount_refunded - self.amount_allocated

    @property
    def refundable(self):
        return self.amount - self.amount_refunded if self.status == self.Status.SUCCEEDED else 0


class Allocation(models.Model):
    """Part of a payment or of a credit note applied to an invoice (negative: reversed)."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        CREDIT_NOTE = "credit_note", "Credit note"
        CREDIT_APPLIED = "credit_applied", "Client credit applied"
        REVERSAL = "reversal", "Reversed (refund, credit note or undone match)"

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="allocations"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    credit_note = models.ForeignKey(
        "billing.Invoice",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applied_allocations",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(**AMOUNT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(payment__isnull=False) & Q(credit_note__isnull=True))
                | (Q(payment__isnull=True) & Q(credit_note__isnull=False)),
                name="allocation_has_one_source",
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="allocation_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id} ({self.kind})"


class Refund(TimestampedModel):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    refunded_on = models.DateField()
    reason = models.CharField(max_length=300, blank=True)
    gateway_reference = models.CharField(max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            models.UniqueConstraint(
                fields=["payment", "gateway_reference"],
                condition=~Q(gateway_reference=""),
                name="uniq_gateway_refund",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} of {self.payment_id}"
