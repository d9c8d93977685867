"""Collections (dunning): the reminder policy, each invoice's case, the reminder ledger, fees.

The policy is one row per organization (there is one organization per installation). Its steps
are offsets in days from the invoice's due date (−3 friendly, 0 due, +7, +14 escalate, +30
final). The ledger (``Reminder``) keeps one row per invoice and step — sent, or skipped when a
catch-up sent a later step instead — and at most one *sent* row per invoice and day (unique
constraints, so two sweeps racing cannot double up). ``LateFee`` is keyed by (invoice,
period): a fee is charged at most once per period, whatever runs twice.

Why not the automation sequence engine: its steps are waits in business days from the
enrolment, run one after the other by chained jobs; reminders hang off the invoice's due date
(calendar days, possibly before enrolment), and after downtime must send only the latest due
step. So the steps live here and a sweep (``core.scheduler``) drives them; the ledger is our
own for the same reason (its rows need an enrolment and a sequence step).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.billing.models.invoices import AMOUNT, RATE
from throughline.core.models.base import TimestampedModel


class DunningPolicy(TimestampedModel):
    class Kind(models.TextChoices):
        EU_LATE_PAYMENT = "eu", "EU late-payment rule (reminders, statutory interest, €40)"
        REMINDERS_ONLY = "reminders", "Reminders only (no fees)"
        CUSTOM = "custom", "Custom steps"

    key = models.SlugField(max_length=40, unique=True, default="default")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.REMINDERS_ONLY)
    is_active = models.BooleanField(default=True)
    # [{"offset": -3, "label": "…", "template": "<key>", "task": false, "fee": false}, …]
    steps = models.JSONField(default=list, blank=True)
    charge_interest = models.BooleanField(default=False)
    interest_margin = models.DecimalField(default=Decimal("8.00"), **RATE)
    charge_recovery_fee = models.BooleanField(default=False)
    recovery_fee = models.DecimalField(default=Decimal("40.00"), **AMOUNT)
    recovery_fee_currency = models.CharField(max_length=3, default="EUR")

    class Meta:
        ordering = ["key"]
        verbose_name_plural = "dunning policies"

    def __str__(self) -> str:
        return self.get_kind_display()


class ReferenceRate(models.Model):
    """The ECB reference rate for a half-year (1 January or 1 July), overriding the defaults."""

    period_start = models.DateField(unique=True)
    rate = models.DecimalField(max_digits=6, decimal_places=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"{self.period_start}: {self.rate}%"


class DunningPause(models.Model):
    """No reminders for this client while the row exists."""

    contact = models.OneToOneField(
        "crm.Contact", on_delete=models.CASCADE, related_name="dunning_pause"
    )
    reason = models.CharField(max_length=300, blank=True)
    paused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Reminders paused for {self.contact_id}"


class DunningCase(TimestampedModel):
    """Collections state of one invoice (created when it first comes near its due date)."""

    class State(models.TextChoices):
        ACTIVE = "active", "Reminding"
        DISPUTED = "disputed", "Disputed (reminders stopped)"
        PAID = "paid", "Paid (reminders stopped)"
        CLOSED = "closed", "Closed"

    invoice = models.OneToOneField(
        "billing.Invoice", on_delete=models.CASCADE, related_name="dunning_case"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    overdue_emitted_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.TextField(blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # When the sweep next has something to do for this invoice (the next step's day); empty =
    # look now. Keeps the hourly sweep to the invoices with a step due, not every open one.
    next_check_on = models.DateField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Collections for {self.invoice_id} ({self.state})"


class Reminder(models.Model):
    """The ledger: what each step did for one invoice."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Reminder sent"
        SKIPPED = "skipped", "Skipped (a later step was due)"
        NO_ADDRESS = "no_address", "Not sent: no e-mail address"

    id = models.BigAutoField(primary_key=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="reminders"
    )
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    step_index = models.PositiveSmallIntegerField()
    step_label = models.CharField(max_length=120)
    offset_days = models.SmallIntegerField()
    scheduled_on = models.DateField(help_text="due date + offset")
    sent_on = models.DateField(null=True, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    message = models.ForeignKey(
        "messaging.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task = models.ForeignKey(
        "crm.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "step_index"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "step_index"], name="uniq_reminder_step"),
            models.UniqueConstraint(
                fields=["invoice", "sent_on"],
                condition=Q(sent_on__isnull=False),
                name="uniq_reminder_per_invoice_day",
            ),
        ]
        indexes = [models.Index(fields=["contact", "created_at"])]

    def __str__(self) -> str:
        return f"{self.step_label} for {self.invoice_id}: {self.outcome}"


class LateFee(models.Model):
    """A fee charged on an overdue invoice: once per (invoice, period), on a late-fee invoice.

    ``period`` is ``recovery`` for the flat recovery fee (once per invoice) and
    ``interest:<last day>`` for statutory interest up to that day.
    """

    id = models.BigAutoField(primary_key=True)
    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.CASCADE, related_name="late_fees"
    )
    period = models.CharField(max_length=40)
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    interest_from = models.DateField(null=True, blank=True)
    interest_to = models.DateField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    fee_invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "period"], name="uniq_late_fee_period")
        ]

    def __str__(self) -> str:
        return f"{self.period}: {self.amount} {self.currency}"
