"""Staff actions on an issued invoice: record a payment, apply client credit, credit it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.billing import access
from throughline.billing.forms import CreditNoteForm, PaymentForm
from throughline.billing.services import credit_notes, payments
from throughline.billing.services.calculation import plain
from throughline.billing.services.errors import InvoiceStateError, IssueRefused
from throughline.billing.views.common import detail_context
from throughline.core.access import requires
from throughline.core.actor import Actor


def _errors(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


@requires("billing.payments")
@require_POST
def payment_create(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    form = PaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            payment = payments.record_payment(
                Actor.from_request(request),
                invoice=invoice,
                amount=data["amount"],
                received_on=data["received_on"],
                method=data["method"],
                reference=data["reference"],
                notes=data["notes"],
                send_receipt=data["send_receipt"],
            )
        except (ValidationError, InvoiceStateError) as exc:
            messages.error(request, f"Payment not recorded: {_errors(exc)}")
        else:
            text = f"{payment.amount} {payment.currency} recorded."
            if payment.unallocated > 0:
                text += f" {payment.unallocated} {payment.currency} is kept as the client's credit."
            messages.success(request, text)
            return redirect("billing:invoice_detail", pk=invoice.pk)
    else:
        messages.error(request, "Payment not recorded: check the amount and the date.")
    return redirect("billing:invoice_detail", pk=invoice.pk)


@requires("billing.payments")
@require_POST
def apply_credit(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    try:
        applied = payments.apply_client_credit(Actor.from_request(request), invoice)
    except (ValidationError, InvoiceStateError) as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, f"{applied} {invoice.currency} of the client's credit applied.")
    return redirect("billing:invoice_detail", pk=invoice.pk)


def _credit_rows(invoice, data=None) -> list[dict]:
    rows = []
    for line in invoice.lines.all():
        key = f"credit_qty_{line.pk}"
        rows.append(
            {
                "line": line,
                "field": key,
                "value": (data.get(key, "") if data is not None else plain(line.quantity)),
                "quantity": plain(line.quantity),
                "unit_price": plain(line.unit_price),
            }
        )
    return rows


def _partial_lines(invoice, data) -> list[dict]:
    lines = []
    for row in _credit_rows(invoice, data):
        raw = str(row["value"] or "").strip()
        if not raw:
            continue
        try:
            quantity = Decimal(raw)
        except InvalidOperation as exc:
            raise ValidationError({"lines": [f"“{raw}” is not a quantity."]}) from exc
        if quantity == 0:
            continue
        line = row["line"]
        if quantity > line.quantity:
            raise ValidationError(
                {"lines": [f"Line {line.position}: at most {plain(line.quantity)} to credit."]}
            )
        share = quantity / line.quantity
        lines.append(
            {
                "description": line.description,
                "quantity": quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "discount_percent": line.discount_percent,
                "discount_amount": (line.discount_amount * share).quantize(Decimal("0.01")),
                "vat_category": line.vat_category,
                "vat_rate": line.vat_rate,
                "exemption_reason_code": line.exemption_reason_code,
                "exemption_reason": line.exemption_reason,
            }
        )
    return lines


@requires("billing.issue")
def credit_note_create(request: HttpRequest, pk) -> HttpResponse:
    """Full or partial credit note (quantities per line), issued at once."""
    invoice = access.access_invoice(request.user, pk)
    form = CreditNoteForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        try:
            lines = None if form.cleaned_data["full"] else _partial_lines(invoice, request.POST)
            note = credit_notes.credit_invoice(
                Actor.from_request(request),
                invoice,
                reason=form.cleaned_data["reason"],
                lines=lines,
            )
        except (ValidationError, InvoiceStateError, IssueRefused) as exc:
            error = _errors(exc)
        else:
            messages.success(request, f"{note} issued for {note.gross_total} {note.currency}.")
            return redirect("billing:invoice_detail", pk=invoice.pk)
    context = detail_context(request, invoice)
    context.update(
        {
            "credit_form": form,
            "rows": _credit_rows(invoice, request.POST if request.method == "POST" else None),
            "error": error,
        }
    )
    return render(
        request, "billing/invoices/credit_note.html", context, status=422 if error else 200
    )
