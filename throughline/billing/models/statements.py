"""Bank statements: imported files, their lines, and remembered CSV column mappings.

A line is stored once whatever how often its file is imported: ``dedup_key`` is the bank's
entry id when the file has one, else a hash of account, date, amount, currency, reference,
counterparty and the line's occurrence among identical lines of the file (unique).
Reconciliation (``billing.services.reconciliation``) sets each credit's match state; a matched
line points at the payment it recorded. An undone match leaves the line open again (the payment
stays, reversed, for the record).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.billing.models.invoices import AMOUNT
from throughline.core.models.base import TimestampedModel


class StatementImport(TimestampedModel):
    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        OFX = "ofx", "OFX"
        CAMT = "camt053", "ISO 20022 CAMT.053"

    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=8, choices=Format.choices)
    account = models.CharField(max_length=64, blank=True, help_text="IBAN or account id")
    line_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_format_display()})"


class StatementLine(models.Model):
    class Status(models.TextChoices):
        UNMATCHED = "unmatched", "Unmatched"
        SUGGESTED = "suggested", "Suggested"
        MATCHED = "matched", "Matched"
        IGNORED = "ignored", "Ignored"
        DEBIT = "debit", "Outgoing (not reconciled)"

    id = models.BigAutoField(primary_key=True)
    statement = models.ForeignKey(StatementImport, on_delete=models.CASCADE, related_name="lines")
    account = models.CharField(max_length=64, blank=True)
    booked_on = models.DateField()
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)
    counterparty = models.CharField(max_length=200, blank=True)
    remittance = models.TextField(blank=True)
    reference = models.CharField(max_length=200, blank=True)
    bank_entry_id = models.CharField(max_length=120, blank=True)
    dedup_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.UNMATCHED, db_index=True
    )
    confidence = models.DecimalField(max_digits=4, decimal_places=3, default=0)
    # [{"invoice_id": "…", "number": "…", "amount": "…"}] — the match found or suggested.
    suggestion = models.JSONField(default=list, blank=True)
    match_reason = models.CharField(max_length=300, blank=True)
    payment = models.ForeignKey(
        "billing.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    matched_at = models.DateTimeField(null=True, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Staff undid a match of this line: reconciliation only suggests for it from then on, so
    # the same wrong match is never applied again on its own.
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["statement", "booked_on", "id"]

    def __str__(self) -> str:
        return f"{self.booked_on} {self.amount} {self.currency} {self.counterparty}"

    @property
    def is_credit(self) -> bool:
        return self.amount > 0


class CsvMapping(TimestampedModel):
    """A CSV layout remembered by its header row (the next file from that bank maps itself)."""

    header_key = models.CharField(max_length=64, unique=True)
    header = models.JSONField(default=list)
    # field -> column name: date, amount, currency, counterparty, remittance, reference
    columns = models.JSONField(default=dict)
    decimal_comma = models.BooleanField(default=False)
    date_format = models.CharField(max_length=20, default="%Y-%m-%d")
    default_currency = models.CharField(max_length=3, blank=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.columns.items())
