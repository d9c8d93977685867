"""Staff forms of billing. They check shapes; the services check meaning (and say why)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from throughline.billing.models import Invoice, Payment, VatCategory
from throughline.billing.services.calculation import vatex_codes


def _text(label: str, required: bool = False, **attrs) -> forms.CharField:
    return forms.CharField(label=label, required=required, widget=forms.TextInput(attrs=attrs))


def _number(label: str, **attrs) -> forms.CharField:
    # Strings, not DecimalFields: the service refuses too many decimals instead of rounding.
    return _text(label, inputmode="decimal", autocomplete="off", **attrs)


class NewInvoiceForm(forms.Form):
    currency = forms.CharField(max_length=3, initial="", widget=forms.TextInput(attrs={"size": 4}))
    kind = forms.ChoiceField(choices=Invoice.Kind.choices, initial=Invoice.Kind.STANDARD)


class InvoiceHeaderForm(forms.Form):
    currency = forms.CharField(max_length=3, widget=forms.TextInput(attrs={"size": 4}))
    kind = forms.ChoiceField(choices=Invoice.Kind.choices)
    issue_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: the day it is issued.",
    )
    due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Empty: 30 days after issue.",
    )
    delivery_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    payment_terms = forms.CharField(max_length=300, required=False)
    buyer_reference = forms.CharField(
        max_length=200, required=False, label="Client's reference (PO)"
    )
    discount_percent = _number("Discount on the whole invoice (%)")
    exchange_rate = _number("Exchange rate to the base currency")
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    deposits = forms.ModelMultipleChoiceField(
        queryset=Invoice.objects.none(),
        required=False,
        label="Deduct paid deposits",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, deposit_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if deposit_choices is not None:
            self.fields["deposits"].queryset = deposit_choices
        else:
            del self.fields["deposits"]


class LineForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 1}), required=False)
    quantity = _number("Qty", size=6)
    unit = forms.CharField(max_length=30, required=False, widget=forms.TextInput(attrs={"size": 6}))
    unit_price = _number("Unit price", size=9)
    discount_percent = _number("Disc. %", size=5)
    vat_category = forms.ChoiceField(choices=VatCategory.choices, initial=VatCategory.STANDARD)
    vat_rate = _number("VAT %", size=5)
    exemption_reason_code = forms.ChoiceField(required=False, choices=(), label="Exemption code")
    exemption_reason = forms.CharField(max_length=300, required=False, label="Exemption reason")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["exemption_reason_code"].choices = [("", "—")] + [
            (code, code) for code in sorted(vatex_codes())
        ]

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(
            (data.get(k) or "").strip() for k in ("description", "unit_price", "quantity")
        )


LineFormSet = forms.formset_factory(LineForm, extra=0, can_delete=True)


def line_payloads(formset) -> list[dict]:
    """Non-blank, non-deleted rows as service line dicts (positions follow the rows kept)."""
    rows = []
    for form in formset.forms:
        if not form.is_valid() or form.cleaned_data.get("DELETE") or form.is_blank():
            continue
        data = {k: v for k, v in form.cleaned_data.items() if k != "DELETE"}
        for key in ("quantity", "discount_percent", "vat_rate"):
            data[key] = (data.get(key) or "").strip() or None
        data["unit_price"] = (data.get("unit_price") or "").strip()
        data["form_index"] = form.prefix
        rows.append(data)
    return rows


def apply_service_errors(exc: ValidationError, header, formset, rows: list[dict]) -> list[str]:
    """Put a service's ``lines.2.unit_price`` errors on the right row; return the rest."""
    loose: list[str] = []
    by_prefix = {form.prefix: form for form in formset.forms} if formset is not None else {}
    for key, messages in exc.message_dict.items():
        head, _, rest = key.partition(".")
        if head == "lines" and rest:
            index, _, field = rest.partition(".")
            try:
                row = rows[int(index)]
            except (ValueError, IndexError):
                loose.extend(messages)
                continue
            form = by_prefix.get(row["form_index"])
            name = {
                "tax_rate": "vat_rate",
                "tax_category": "vat_category",
                "discount": "discount_percent",
            }.get(field, field)
            if form is not None and name in form.fields:
                form.add_error(name, messages)
            else:
                loose.extend(messages)
        elif header is not None and key in header.fields:
            header.add_error(key, messages)
        else:
            loose.extend(messages)
    return loose


class PaymentForm(forms.Form):
    amount = _number("Amount")
    received_on = forms.DateField(
        label="Received on", widget=forms.DateInput(attrs={"type": "date"})
    )
    method = forms.ChoiceField(
        choices=[(m.value, m.label) for m in Payment.Method if m in Payment.MANUAL_METHODS]
    )
    reference = forms.CharField(max_length=200, required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    send_receipt = forms.BooleanField(required=False, initial=True, label="E-mail a receipt")


class SendForm(forms.Form):
    to = forms.CharField(label="To", max_length=254, required=False)
    message = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class CreditNoteForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    full = forms.BooleanField(required=False, initial=True, label="Credit the whole invoice")


class RefundForm(forms.Form):
    amount = _number("Amount")
    reason = forms.CharField(max_length=300, required=False)
    through_gateway = forms.BooleanField(
        required=False, label="Refund the card through the gateway"
    )
