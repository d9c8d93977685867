"""Credit notes: the only way to correct or void an issued invoice (DESIGN §5).

A credit note is issued like an invoice (EN 16931 type 381, its own number series "CN-…") and
references the invoice it corrects. Full: it copies every line. Partial: the lines given. It
can never credit more than is left of the invoice — in total, and per VAT category and rate
(crediting VAT the invoice never charged would be wrong).

Applied to its invoice, a credit note lowers what is due. If the invoice was already paid, the
payments it no longer needs are released as the client's credit (refundable, or usable on the
next invoice); a credit covering the whole invoice makes it void.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.billing.models import Allocation, DocumentType, Invoice
from throughline.billing.services import invoicing, settlement
from throughline.billing.services.errors import InvoiceStateError
from throughline.core import audit_log
from throughline.core.actor import Actor

ZERO = Decimal(0)
LINE_COPY_FIELDS = (
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount_percent",
    "discount_amount",
    "vat_category",
    "vat_rate",
    "exemption_reason_code",
    "exemption_reason",
)


def credited_by_group(invoice: Invoice) -> dict[tuple[str, Decimal], Decimal]:
    totals: dict[tuple[str, Decimal], Decimal] = {}
    notes = Invoice.objects.filter(corrects=invoice, document_type=DocumentType.CREDIT_NOTE)
    for note in notes.exclude(status=Invoice.Status.DRAFT):
        for group in note.tax_breakdown:
            key = (group["category"], Decimal(group["rate"]))
            totals[key] = totals.get(key, ZERO) + Decimal(group["base"])
    return totals


def left_to_credit(invoice: Invoice) -> Decimal:
    return invoice.gross_total - settlement.credited_gross(invoice)


def _check_within(invoice: Invoice, note: Invoice) -> None:
    left = left_to_credit(invoice)
    if note.gross_total > left:
        raise ValidationError(
            {
                "lines": [
                    f"This credits {note.gross_total} {note.currency}, but only {left} "
                    f"{invoice.currency} of {invoice.number} is left to credit."
                ]
            }
        )
    invoiced = {
        (g["category"], Decimal(g["rate"])): Decimal(g["base"]) for g in invoice.tax_breakdown
    }
    already = credited_by_group(invoice)
    for group in note.tax_breakdown:
        key = (group["category"], Decimal(group["rate"]))
        if key not in invoiced:
            raise ValidationError(
                {"lines": [f"{invoice.number} has no {key[0]} {key[1]}% lines to credit."]}
            )
        if already.get(key, ZERO) + Decimal(group["base"]) > invoiced[key]:
            raise ValidationError(
                {
                    "lines": [
                        f"More {key[0]} {key[1]}% would be credited than {invoice.number} charged."
                    ]
                }
            )


@transaction.atomic
def credit_invoice(
    actor: Actor,
    invoice: Invoice,
    *,
    reason: str,
    lines: list[Any] | None = None,
    issue: bool = True,
) -> Invoice:
    """Create (and by default issue and apply) a credit note for ``invoice``.

    ``lines=None`` credits the whole invoice; otherwise the lines given (same shape as invoice
    lines). Raises ``ValidationError`` when it would credit more than is left.
    """
    invoice = settlement.lock_invoices([invoice.pk])[str(invoice.pk)]
    if invoice.is_credit_note or invoice.is_draft:
        raise InvoiceStateError("Only an issued invoice can be credited (delete a draft instead).")
    if left_to_credit(invoice) <= 0:
        raise InvoiceStateError(f"{invoice} is already credited in full.")
    if not (reason or "").strip():
        raise ValidationError({"reason": ["Say why the invoice is corrected."]})
    discount = ZERO
    if lines is None:
        if settlement.credited_gross(invoice) > 0:
            raise ValidationError(
                {"lines": ["Part of it was credited already: give the lines to credit."]}
            )
        lines = [
            {field: getattr(line, field) for field in LINE_COPY_FIELDS}
            for line in invoice.lines.all()
        ]
        discount = invoice.discount_percent
    if not lines:
        raise ValidationError({"lines": ["Give at least one line to credit."]})
    note = invoicing.create_invoice(
        actor,
        contact=invoice.contact,
        company=invoice.company,
        currency=invoice.currency,
        lines=lines,
        document_type=DocumentType.CREDIT_NOTE,
        corrects=invoice,
        credit_reason=reason,
        discount_percent=discount,
        exchange_rate=invoice.exchange_rate,
        locale=invoice.locale,
        buyer_reference=invoice.buyer_reference,
    )
    _check_within(invoice, note)
    if issue:
        note = invoicing.issue_invoice(actor, note)
        apply_credit_note(actor, note)
    return note


def apply_credit_note(actor: Actor, note: Invoice) -> settlement.Change:
    """Settle the corrected invoice with the credit note (releasing payments it no longer needs)."""
    invoice = settlement.lock_invoices([note.corrects_id])[str(note.corrects_id)]
    room = invoice.payable_total - invoice.amount_credited
    applied = min(note.gross_total, max(room, ZERO))
    if applied > 0:
        settlement.allocate(
            invoice, applied, credit_note=note, kind=Allocation.Kind.CREDIT_NOTE, user=actor.user
        )
    over = invoice.amount_paid + invoice.amount_credited + applied - invoice.payable_total
    released = ZERO
    if over > 0:
        released = sum(
            (-row.amount for row in settlement.reverse_payments(invoice, over, user=actor.user)),
            ZERO,
        )
    change = settlement.refresh(invoice)
    audit_log.record(
        actor,
        "invoice.credited",
        invoice,
        changes={
            "credit_note": [None, note.number],
            "applied": [None, applied],
            "payments_released_as_credit": [None, released],
            "status": [change.before, change.after],
        },
    )
    return change
