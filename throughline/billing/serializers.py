"""API representations of invoices, credit notes and payments (DESIGN §6).

Money goes out as strings in the document's currency unit ("1234.50", "1000" for JPY) beside
``currency``. Numbers coming in may be strings or JSON numbers; they reach the services as
text, and the services refuse (never round) too many decimals.
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from throughline.api.fields import UtcDateTimeField, VisibleRecordField
from throughline.api.serializers import ServiceSerializer
from throughline.billing.access import access_invoice
from throughline.billing.models import Invoice, Payment, Refund, VatCategory
from throughline.billing.services.calculation import plain
from throughline.core import money
from throughline.crm.access import access_company, access_contact

DECIMAL_SCHEMA = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$", "example": "1234.50"}


@extend_schema_field(DECIMAL_SCHEMA)
class AmountField(serializers.Field):
    """An amount of the record's ``currency``, as a string with its minor unit."""

    def __init__(self, attr: str | None = None, currency_attr: str = "currency", **kwargs):
        self.attr = attr
        self.currency_attr = currency_attr
        kwargs.setdefault("read_only", True)
        super().__init__(source="*", **kwargs)

    def bind(self, field_name, parent):
        super().bind(field_name, parent)
        self.attr = self.attr or field_name

    def to_representation(self, obj):
        value = getattr(obj, self.attr)
        if value is None:
            return None
        currency = getattr(obj, self.currency_attr) or "XXX"
        try:
            return str(money.quantize(value, currency))
        except money.MoneyError:
            return str(value)


@extend_schema_field({"oneOf": [DECIMAL_SCHEMA, {"type": "number"}]})
class NumberText(serializers.Field):
    """A decimal number given as a string (preferred) or a JSON number; passed on as text."""

    default_error_messages = {"invalid": 'Give a number, e.g. "12.50".'}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            self.fail("invalid")
        # A float's shortest repr is what the client wrote (2.5 → "2.5").
        return str(data).strip()

    def to_representation(self, value):
        return None if value is None else str(value)


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else str(money.quantize_rate(value))


class InvoiceLineInputSerializer(serializers.Serializer):
    """One invoice line. ``discount`` is a percentage of quantity × unit price."""

    description = serializers.CharField(max_length=5000)
    quantity = NumberText(required=False, help_text="Up to 4 decimals; default 1.")
    unit = serializers.CharField(max_length=30, required=False, allow_blank=True)
    unit_price = NumberText(help_text="Before tax, up to 4 decimals.")
    tax_rate = NumberText(required=False, help_text='VAT rate in percent, e.g. "20".')
    tax_category = serializers.ChoiceField(
        choices=VatCategory.choices,
        required=False,
        help_text="EN 16931 VAT category; default S (rate > 0) or Z (rate 0).",
    )
    discount = NumberText(required=False, help_text="Line discount in percent.")
    discount_amount = NumberText(required=False, help_text="Line discount as an amount.")
    exemption_reason_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="VATEX code (E, AE, K, G, O)."
    )
    exemption_reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class InvoiceLineSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    description = serializers.CharField()
    quantity = serializers.SerializerMethodField()
    unit = serializers.CharField()
    unit_price = serializers.SerializerMethodField()
    tax_rate = serializers.SerializerMethodField()
    tax_category = serializers.CharField(source="vat_category")
    discount = serializers.SerializerMethodField()
    discount_amount = AmountField(currency_attr="invoice_currency")
    exemption_reason_code = serializers.CharField()
    exemption_reason = serializers.CharField()
    net_amount = AmountField(currency_attr="invoice_currency")

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_quantity(self, line) -> str:
        return plain(money.quantize_quantity(line.quantity))

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_unit_price(self, line) -> str:
        return str(money.quantize_price(line.unit_price))

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_tax_rate(self, line) -> str:
        return _rate(line.vat_rate)

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_discount(self, line) -> str:
        return _rate(line.discount_percent)


class InvoiceTaxGroupSerializer(serializers.Serializer):
    category = serializers.CharField()
    rate = serializers.CharField()
    base = serializers.CharField()
    tax = serializers.CharField()
    exemption_code = serializers.CharField()
    exemption_reason = serializers.CharField()


class InvoiceWriteSerializer(ServiceSerializer):
    """What a client sends to create (``POST``) or change (``PATCH``, drafts only) an invoice."""

    service_names = {"contact_id": "contact", "company_id": "company"}

    contact_id = VisibleRecordField(access=access_contact, label="contact")
    company_id = VisibleRecordField(
        access=access_company,
        label="company",
        required=False,
        allow_null=True,
        help_text="Default: the contact's company.",
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217; default the base currency."
    )
    kind = serializers.ChoiceField(choices=Invoice.Kind.choices, required=False)
    issue_date = serializers.DateField(
        required=False, allow_null=True, help_text="Default: the day it is issued."
    )
    due_date = serializers.DateField(
        required=False, allow_null=True, help_text="Default: 30 days after issue."
    )
    delivery_date = serializers.DateField(required=False, allow_null=True)
    payment_terms = serializers.CharField(max_length=300, required=False, allow_blank=True)
    buyer_reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    discount_percent = NumberText(required=False, help_text="Discount on the whole invoice, %.")
    exchange_rate = NumberText(
        required=False, allow_null=True, help_text="Base-currency units per one unit of currency."
    )
    lines = InvoiceLineInputSerializer(many=True, required=False)


class InvoiceSerializer(serializers.Serializer):
    """An invoice (or, under ``/credit-notes``, a credit note). ``number`` is empty until
    issued; ``status`` is one of draft, issued, partially_paid, paid, void; ``overdue`` is
    derived from the due date and what is left to pay."""

    id = serializers.UUIDField()
    number = serializers.CharField()
    document_type = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    overdue = serializers.SerializerMethodField()
    contact_id = serializers.UUIDField()
    company_id = serializers.UUIDField(allow_null=True)
    currency = serializers.CharField()
    issue_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    delivery_date = serializers.DateField(allow_null=True)
    payment_terms = serializers.CharField()
    buyer_reference = serializers.CharField()
    notes = serializers.CharField()
    discount_percent = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()
    net_total = AmountField()
    tax_total = AmountField()
    gross_total = AmountField()
    prepaid_amount = AmountField(help_text="Deposits deducted (EN 16931 BT-113).")
    amount_paid = AmountField()
    amount_credited = AmountField()
    amount_due = AmountField()
    tax_breakdown = InvoiceTaxGroupSerializer(many=True)
    exchange_rate = serializers.SerializerMethodField()
    base_currency = serializers.CharField()
    base_gross_total = AmountField(currency_attr="base_currency", allow_null=True)
    corrects_id = serializers.UUIDField(allow_null=True)
    issued_at = UtcDateTimeField(allow_null=True)
    sent_at = UtcDateTimeField(allow_null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, invoice) -> bool:
        from throughline.billing.services.dates import org_today

        return invoice.is_overdue(org_today())

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_discount_percent(self, invoice) -> str:
        return _rate(invoice.discount_percent)

    @extend_schema_field({**DECIMAL_SCHEMA, "nullable": True})
    def get_exchange_rate(self, invoice) -> str | None:
        return plain(invoice.exchange_rate) if invoice.exchange_rate else None

    @extend_schema_field(InvoiceLineSerializer(many=True))
    def get_lines(self, invoice) -> list:
        lines = list(invoice.lines.all())
        for line in lines:
            line.invoice_currency = invoice.currency
        return InvoiceLineSerializer(lines, many=True).data


class InvoiceSendSerializer(serializers.Serializer):
    to = serializers.CharField(
        max_length=254, required=False, allow_blank=True, help_text="Default: the contact."
    )
    message = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class InvoicePaymentSerializer(serializers.Serializer):
    """Money received for an invoice. More than is due stays as the client's credit."""

    amount = NumberText()
    currency = serializers.CharField(max_length=3, required=False)
    date = serializers.DateField(required=False, help_text="When it was received; default today.")
    method = serializers.ChoiceField(choices=Payment.Method.choices, default="bank_transfer")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    send_receipt = serializers.BooleanField(default=True)


class PaymentAllocationInputSerializer(serializers.Serializer):
    invoice_id = VisibleRecordField(access=access_invoice, label="invoice")
    amount = NumberText()


class PaymentCreateSerializer(InvoicePaymentSerializer):
    """A payment not tied to one invoice: client credit, or spread over several invoices."""

    contact_id = VisibleRecordField(access=access_contact, label="contact")
    currency = serializers.CharField(max_length=3)
    allocations = PaymentAllocationInputSerializer(many=True, required=False)


class PaymentAllocationSerializer(serializers.Serializer):
    invoice_id = serializers.UUIDField()
    kind = serializers.CharField()
    amount = serializers.CharField()
    created_at = UtcDateTimeField()


class PaymentRefundSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(read_only=True)
    amount = AmountField()
    refunded_on = serializers.DateField()
    created_at = UtcDateTimeField()

    class Meta:
        model = Refund
        fields = ["id", "amount", "currency", "refunded_on", "reason", "created_at"]


class PaymentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    contact_id = serializers.UUIDField()
    invoice_id = serializers.UUIDField(allow_null=True)
    amount = AmountField()
    currency = serializers.CharField()
    date = serializers.DateField(source="received_on")
    method = serializers.CharField()
    reference = serializers.CharField()
    status = serializers.CharField()
    failure_reason = serializers.CharField()
    gateway = serializers.CharField()
    amount_allocated = AmountField()
    amount_refunded = AmountField()
    credit = serializers.SerializerMethodField(help_text="Not allocated: the client's credit.")
    allocations = serializers.SerializerMethodField()
    refunds = PaymentRefundSerializer(many=True)
    created_at = UtcDateTimeField()

    @extend_schema_field(DECIMAL_SCHEMA)
    def get_credit(self, payment) -> str:
        return str(money.quantize(payment.unallocated, payment.currency))

    @extend_schema_field(PaymentAllocationSerializer(many=True))
    def get_allocations(self, payment) -> list:
        return [
            {
                "invoice_id": str(a.invoice_id),
                "kind": a.kind,
                "amount": str(money.quantize(a.amount, payment.currency)),
                "created_at": UtcDateTimeField().to_representation(a.created_at),
            }
            for a in payment.allocations.all()
        ]


class PaymentRefundInputSerializer(serializers.Serializer):
    amount = NumberText()
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CreditNoteCreateSerializer(serializers.Serializer):
    """Correct an issued invoice. Without ``lines``, the whole invoice is credited."""

    invoice_id = VisibleRecordField(access=access_invoice, label="invoice")
    reason = serializers.CharField(max_length=2000)
    lines = InvoiceLineInputSerializer(many=True, required=False)
