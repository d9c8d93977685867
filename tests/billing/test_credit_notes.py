"""Credit notes correct issued invoices: full (void), partial, never more than is left."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.billing.conftest import TODAY, line
from throughline.billing.models import DocumentType, Invoice
from throughline.billing.services import credit_notes, payments, settlement
from throughline.billing.services.errors import InvoiceStateError


@pytest.fixture
def invoice(make_invoice):
    # 2 × 100.00 at 20% + 1 × 50.00 at 5%: 200 + 40 + 50 + 2.50 = 292.50
    return make_invoice(
        lines=[line("Workshop day", "2", "100.00", "20"), line("Printed guide", "1", "50.00", "5")],
        issue=True,
    )


def test_full_credit_note_voids_the_invoice(actor, invoice):
    note = credit_notes.credit_invoice(actor, invoice, reason="Cancelled by the client")
    invoice.refresh_from_db()
    assert note.document_type == DocumentType.CREDIT_NOTE and note.number == "CN-2025-00001"
    assert note.gross_total == invoice.gross_total == Decimal("292.50")
    assert note.corrects == invoice and note.status == Invoice.Status.ISSUED
    assert invoice.status == Invoice.Status.VOID and invoice.amount_due == 0
    with pytest.raises(InvoiceStateError):
        credit_notes.credit_invoice(actor, invoice, reason="again")


def test_partial_credit_lowers_what_is_due(actor, invoice):
    note = credit_notes.credit_invoice(
        actor,
        invoice,
        reason="One day cancelled",
        lines=[line("Workshop day", "1", "100.00", "20")],
    )
    invoice.refresh_from_db()
    assert note.gross_total == Decimal("120.00")
    assert invoice.amount_credited == Decimal("120.00") and invoice.amount_due == Decimal("172.50")
    assert invoice.status == Invoice.Status.ISSUED
    assert credit_notes.left_to_credit(invoice) == Decimal("172.50")


def test_credit_notes_never_exceed_what_is_left(actor, invoice):
    credit_notes.credit_invoice(
        actor, invoice, reason="day 1", lines=[line("Workshop day", "1", "100.00", "20")]
    )
    with pytest.raises(ValidationError) as caught:
        credit_notes.credit_invoice(
            actor, invoice, reason="too much", lines=[line("Workshop day", "2", "100.00", "20")]
        )
    assert "lines" in caught.value.message_dict
    # and per VAT rate: the 5% part was only 50.00
    with pytest.raises(ValidationError):
        credit_notes.credit_invoice(
            actor, invoice, reason="wrong rate", lines=[line("Guide", "1", "60.00", "5")]
        )
    # a rate the invoice never charged
    with pytest.raises(ValidationError):
        credit_notes.credit_invoice(
            actor, invoice, reason="other rate", lines=[line("x", "1", "1.00", "10")]
        )
    # a full credit after a partial one needs its lines
    with pytest.raises(ValidationError):
        credit_notes.credit_invoice(actor, invoice, reason="rest")
    assert Invoice.objects.filter(document_type=DocumentType.CREDIT_NOTE).count() == 1


def test_crediting_a_paid_invoice_releases_the_payment_as_credit(actor, invoice):
    payment = payments.record_payment(
        actor, invoice=invoice, amount="292.50", received_on=TODAY, send_receipt=False
    )
    credit_notes.credit_invoice(
        actor, invoice, reason="discount agreed", lines=[line("Workshop day", "1", "100.00", "20")]
    )
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_due == 0
    assert invoice.amount_paid == Decimal("172.50") and invoice.amount_credited == Decimal("120.00")
    assert payment.unallocated == Decimal("120.00")
    assert settlement.credit_balance(invoice.contact, "GBP") == Decimal("120.00")
    refund = payments.refund_payment(actor, payment, amount="120.00", reason="credit paid back")
    assert refund.amount == Decimal("120.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID  # the refund came out of the credit


def test_credit_notes_are_only_for_issued_invoices(actor, make_invoice, invoice):
    with pytest.raises(InvoiceStateError):
        credit_notes.credit_invoice(actor, make_invoice(), reason="draft")
    note = credit_notes.credit_invoice(
        actor, invoice, reason="x", lines=[line("Guide", "1", "10.00", "5")]
    )
    with pytest.raises(InvoiceStateError):
        credit_notes.credit_invoice(actor, note, reason="credit a credit note")
    with pytest.raises(ValidationError):
        credit_notes.credit_invoice(actor, invoice, reason="   ")
