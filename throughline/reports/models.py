"""The weekly momentum review: one ``Review`` per week (Monday, organization time) with a
snapshot of its figures and one ``ReviewItem`` per record to look at, tickable as reviewed.

Past reviews are kept as they were (the snapshot does not follow later changes)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core import money
from throughline.core.models.base import TimestampedModel


class Review(TimestampedModel):
    week_start = models.DateField(unique=True, help_text="Monday of the week, organization time")
    snapshot = models.JSONField(default=dict, blank=True)
    digest_sent_at = models.DateTimeField(null=True, blank=True)
    digest_recipients = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-week_start"]

    def __str__(self) -> str:
        return f"Weekly review {self.week_start}"


class ReviewItem(models.Model):
    class Kind(models.TextChoices):
        STALLED_DEAL = "stalled_deal", "Deals stalled 7+ days"
        LEAD_PAST_SLA = "lead_past_sla", "Leads past their response SLA"
        PROPOSAL_AWAITING = "proposal_awaiting", "Proposals awaiting the client"
        MILESTONE_DUE = "milestone_due", "Milestones due this week"
        OVERDUE_INVOICE = "overdue_invoice", "Overdue invoices"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64)
    label = models.CharField(max_length=300)
    detail = models.CharField(max_length=300, blank=True)
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    url = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["review", "kind", "position"]
        constraints = [
            models.UniqueConstraint(fields=["review", "kind", "object_id"], name="uniq_review_item")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.label}"


class SourceSpend(TimestampedModel):
    """Marketing spend of one lead source in one calendar month, in the organization's base
    currency: the input of cost per lead and per won deal (``reports/spend.py``).

    Written only through ``reports.spend`` (audited). The source is intake's; a source with
    spend recorded cannot be deleted (spend is money, it does not vanish with a source)."""

    source = models.ForeignKey("intake.LeadSource", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="First day of the month")
    # 3 places: the base currency may have a 3-decimal minor unit (BHD); amounts are stored
    # rounded to the currency's own minor unit.
    amount = models.DecimalField(max_digits=18, decimal_places=3)
    currency = models.CharField(max_length=3)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-month", "source__name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "month"], name="uniq_source_spend_month"),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="source_spend_amount_not_negative"
            ),
        ]

    @classmethod
    def from_db(cls, db, field_names, values):
        """Loaded amounts carry the currency's own decimals (600.00 GBP, not 600.000)."""
        entry = super().from_db(db, field_names, values)
        loaded = entry.__dict__
        if loaded.get("amount") is not None and loaded.get("currency"):
            try:
                entry.amount = money.quantize(entry.amount, entry.currency)
            except money.MoneyError:
                pass  # not a currency code: shown as stored
        return entry

    def __str__(self) -> str:
        return f"{self.source} {self.month:%Y-%m}: {self.amount} {self.currency}"
