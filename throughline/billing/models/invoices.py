"""Invoices and credit notes, their lines, and the guard that keeps issued ones unchanged.

One table holds both document types (a credit note is an invoice with ``document_type`` set and
``corrects`` pointing at the invoice it corrects), so numbering, documents and the API treat
them alike. Amounts are computed by ``billing.services.invoicing`` (EN 16931, core.money) and
stored; once issued, the document's content is frozen: only its settlement (what was paid or
credited), delivery and view tracking may change, through the services (DESIGN §5).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import validate_currency

AMOUNT = {"max_digits": 18, "decimal_places": 2}
PRICE = {"max_digits": 18, "decimal_places": 4}
QUANTITY = {"max_digits": 18, "decimal_places": 4}
RATE = {"max_digits": 5, "decimal_places": 2}


class ImmutableInvoiceError(Exception):
    """An issued invoice's content was about to change; correct it with a credit note."""


class DocumentType(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class VatCategory(models.TextChoices):
    """EN 16931 VAT category codes (UNCL 5305) we issue."""

    STANDARD = "S", "Standard rate"
    ZERO = "Z", "Zero rated"
    EXEMPT = "E", "Exempt (give the reason)"
    REVERSE_CHARGE = "AE", "Reverse charge"
    INTRA_EU = "K", "Intra-community supply"
    EXPORT = "G", "Export outside the EU"
    OUTSIDE_SCOPE = "O", "Not subject to VAT"


# Fields an issued document may still change (settlement, delivery, tracking). Everything
# else is its legal content.
MUTABLE_AFTER_ISSUE = frozenset(
    {
        "status",
        "amount_paid",
        "amount_credited",
        "amount_due",
        "paid_at",
        "voided_at",
        "sent_at",
        "sent_count",
        "first_viewed_at",
        "last_viewed_at",
        "view_count",
        "updated_at",
    }
)


class InvoiceQuerySet(models.QuerySet):
    def update(self, **kwargs):
        frozen = set(kwargs) - MUTABLE_AFTER_ISSUE
        if frozen and self.exclude(status=Invoice.Status.DRAFT).exists():
            raise ImmutableInvoiceError(f"Issued invoices cannot change {sorted(frozen)}.")
        return super().update(**kwargs)

    def delete(self):
        if self.exclude(status=Invoice.Status.DRAFT).exists():
            raise ImmutableInvoiceError("Issued invoices cannot be deleted; credit them instead.")
        return super().delete()

    def open(self):
        """Issued invoices with something left to pay."""
        return self.filter(
            document_type=DocumentType.INVOICE,
            status__in=[Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID],
            amount_due__gt=0,
        )

    def overdue(self, today: dt.date):
        return self.open().filter(due_date__lt=today)


class Invoice(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        VOID = "void", "Void (credited)"

    class Kind(models.TextChoices):
        STANDARD = "standard", "Invoice"
        DEPOSIT = "deposit", "Deposit (prepayment) invoice"

    document_type = models.CharField(
        max_length=12, choices=DocumentType.choices, default=DocumentType.INVOICE
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STANDARD)
    number = models.CharField(max_length=32, blank=True, help_text="Assigned when issued")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    contact = models.ForeignKey("crm.Contact", on_delete=models.PROTECT, related_name="invoices")
    company = models.ForeignKey(
        "crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices"
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    locale = models.CharField(max_length=16, blank=True, help_text="Number and date format")
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True, db_index=True)
    delivery_date = models.DateField(null=True, blank=True)
    payment_terms = models.CharField(max_length=300, blank=True)
    buyer_reference = models.CharField(max_length=200, blank=True, help_text="PO or reference")
    notes = models.TextField(blank=True)
    discount_percent = models.DecimalField(default=0, **RATE)
    # Deposits already paid and deducted here (EN 16931 BT-113).
    prepaid_amount = models.DecimalField(default=0, **AMOUNT)
    deposits = models.ManyToManyField("self", symmetrical=False, blank=True, related_name="+")
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    credit_reason = models.TextField(blank=True)
    # Who asked for it when not a person (e.g. "sales.proposal:<id>:deposit"): one per source.
    source = models.CharField(max_length=120, blank=True)

    # Totals (EN 16931 BT-106…115), recomputed on every draft change, frozen at issue.
    lines_total = models.DecimalField(default=0, **AMOUNT)
    allowance_total = models.DecimalField(default=0, **AMOUNT)
    net_total = models.DecimalField(default=0, **AMOUNT)
    tax_total = models.DecimalField(default=0, **AMOUNT)
    gross_total = models.DecimalField(default=0, **AMOUNT)
    payable_total = models.DecimalField(default=0, **AMOUNT, help_text="Gross less prepaid")
    tax_breakdown = models.JSONField(default=list, blank=True)
    # Base-currency value for reports: rate = base units per one document-currency unit.
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    base_currency = models.CharField(max_length=3, blank=True)
    base_net_total = models.DecimalField(null=True, blank=True, **AMOUNT)
    base_tax_total = models.DecimalField(null=True, blank=True, **AMOUNT)
    base_gross_total = models.DecimalField(null=True, blank=True, **AMOUNT)

    # The parties as they were when issued (DESIGN §3).
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)

    # Settlement: kept equal to the sum of allocations by billing.services.settlement.
    amount_paid = models.DecimalField(default=0, **AMOUNT)
    amount_credited = models.DecimalField(default=0, **AMOUNT)
    amount_due = models.DecimalField(default=0, **AMOUNT)

    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_count = models.PositiveIntegerField(default=0)
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="uniq_invoice_number"
            ),
            models.UniqueConstraint(
                fields=["source"], condition=~Q(source=""), name="uniq_invoice_source"
            ),
            models.CheckConstraint(
                condition=Q(amount_due__gte=0), name="invoice_amount_due_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | ~Q(number=""), name="issued_invoice_has_number"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["contact", "status"]),
            models.Index(fields=["document_type", "issue_date"]),
            # reports: a client's most recent paid invoices (the forecast's payment history)
            models.Index(
                fields=["contact", "-paid_at"],
                include=["due_date"],
                condition=Q(document_type="invoice", paid_at__isnull=False),
                name="billing_inv_paid_history",
            ),
            # reports: open invoices (aging, DSO, the forecast) read from this index alone; per
            # client in due-date order for the forecast
            models.Index(
                fields=["contact", "due_date"],
                include=["id", "currency", "exchange_rate", "amount_due", "issue_date", "status"],
                condition=Q(document_type="invoice", amount_due__gt=0),
                name="billing_inv_open",
            ),
            # reports: credit sales per day (DSO, invoiced per period) read from this index alone
            models.Index(
                fields=["issue_date"],
                include=["document_type", "currency", "gross_total", "exchange_rate", "status"],
                name="billing_inv_sales",
            ),
            # reports: the latest stored exchange rate of a currency (reports.forecast_inputs.Rates)
            models.Index(
                fields=["currency", "-issue_date"],
                condition=Q(exchange_rate__isnull=False),
                name="billing_inv_rates",
            ),
        ]

    def __str__(self) -> str:
        label = "Credit note" if self.is_credit_note else "Invoice"
        return f"{label} {self.number or '(draft)'}"

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._db_status = getattr(instance, "status", None)
        return instance

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == DocumentType.CREDIT_NOTE

    @property
    def is_open(self) -> bool:
        return (
            not self.is_credit_note
            and self.status in (self.Status.ISSUED, self.Status.PARTIALLY_PAID)
            and self.amount_due > 0
        )

    def is_overdue(self, today: dt.date) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today

    def save(self, *args, **kwargs):
        # The model guard behind the services: an issued document may only change the
        # fields of MUTABLE_AFTER_ISSUE, and only when the caller names them.
        stored = getattr(self, "_db_status", None)
        if stored not in (None, self.Status.DRAFT):
            fields = kwargs.get("update_fields")
            if fields is None or set(fields) - MUTABLE_AFTER_ISSUE:
                raise ImmutableInvoiceError(
                    f"{self} is issued; its content cannot change (use a credit note)."
                )
        super().save(*args, **kwargs)
        self._db_status = self.status

    def delete(self, *args, **kwargs):
        if getattr(self, "_db_status", self.status) != self.Status.DRAFT:
            raise ImmutableInvoiceError(f"{self} is issued; it cannot be deleted.")
        return super().delete(*args, **kwargs)


class InvoiceLineQuerySet(models.QuerySet):
    def _guard(self):
        if self.exclude(invoice__status=Invoice.Status.DRAFT).exists():
            raise ImmutableInvoiceError("Lines of an issued invoice cannot change.")

    def update(self, **kwargs):
        self._guard()
        return super().update(**kwargs)

    def delete(self):
        self._guard()
        return super().delete()


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.TextField()
    quantity = models.DecimalField(default=1, **QUANTITY)
    unit = models.CharField(max_length=30, blank=True)
    unit_price = models.DecimalField(**PRICE)
    discount_percent = models.DecimalField(default=0, **RATE)
    discount_amount = models.DecimalField(default=0, **AMOUNT)
    vat_category = models.CharField(
        max_length=2, choices=VatCategory.choices, default=VatCategory.STANDARD
    )
    vat_rate = models.DecimalField(default=0, **RATE)
    exemption_reason_code = models.CharField(max_length=40, blank=True, help_text="VATEX code")
    exemption_reason = models.CharField(max_length=300, blank=True)
    net_amount = models.DecimalField(default=0, **AMOUNT)
    allowance_amount = models.DecimalField(default=0, **AMOUNT)

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "position", "id"]

    def __str__(self) -> str:
        return self.description[:60]

    def save(self, *args, **kwargs):
        self._check_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._check_draft()
        return super().delete(*args, **kwargs)

    def _check_draft(self) -> None:
        status = Invoice.objects.filter(pk=self.invoice_id).values_list("status", flat=True).first()
        if status not in (None, Invoice.Status.DRAFT):
            raise ImmutableInvoiceError("Lines of an issued invoice cannot change.")
