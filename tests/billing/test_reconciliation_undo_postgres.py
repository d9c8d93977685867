"""Undoing a match under concurrency on PostgreSQL (real connections): clerks undoing the same
line reverse one payment once; an undo racing a refund of the same payment lets one of them
through, never both."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from tests.billing.conftest import TODAY, race
from tests.billing.statement_files import Tx, csv_statement
from throughline.billing import services
from throughline.billing.models import Allocation, Invoice, Payment, StatementLine
from throughline.billing.services import reconciliation
from throughline.billing.services.errors import InvoiceStateError
from throughline.billing.services.statements import import_statement
from throughline.core.models import DomainEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def matched_line(actor, invoice, amount: str) -> StatementLine:
    txs = [Tx(TODAY, amount, "Acme SARL", f"Invoice {invoice.number}")]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")
    reconciliation.reconcile(actor, send_receipts=False)
    line = StatementLine.objects.get()
    if line.status == StatementLine.Status.SUGGESTED:
        reconciliation.confirm_suggestion(actor, line)
    return StatementLine.objects.get(status=StatementLine.Status.MATCHED)


def test_clerks_undoing_one_line_reverse_its_payment_once(actor, make_invoice):
    assert connection.vendor == "postgresql"
    invoice = make_invoice(issue=True)
    line = matched_line(actor, invoice, "120.00")

    errors = race(*[lambda: reconciliation.undo_match(actor, line)] * 4)

    assert len(errors) == 3 and all("not matched" in str(e) for e in errors), errors
    assert Payment.objects.get().status == Payment.Status.REVERSED
    assert list(Allocation.objects.order_by("amount").values_list("amount", flat=True)) == [
        Decimal("-120.00"),
        Decimal("120.00"),
    ]
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.status, invoice.amount_due) == (Invoice.Status.ISSUED, Decimal("120.00"))
    assert DomainEvent.objects.filter(name="payment.reversed").count() == 1


def test_undo_racing_a_refund_lets_one_through(actor, make_invoice):
    invoice = make_invoice(issue=True)
    line = matched_line(actor, invoice, "150.00")  # 120.00 paid, 30.00 client credit
    payment = line.payment

    errors = race(
        lambda: reconciliation.undo_match(actor, line),
        lambda: services.refund_payment(actor, payment, amount="30.00", reason="overpaid"),
    )

    assert len(errors) == 1 and isinstance(errors[0], InvoiceStateError), errors
    payment = Payment.objects.get(pk=payment.pk)
    invoice = Invoice.objects.get(pk=invoice.pk)
    if payment.status == Payment.Status.REVERSED:  # the undo won: nothing refunded
        assert payment.amount_refunded == 0 and not payment.refunds.exists()
        assert (invoice.status, invoice.amount_due) == (Invoice.Status.ISSUED, Decimal("120.00"))
    else:  # the refund won: the match stands
        assert payment.amount_refunded == Decimal("30.00")
        assert (invoice.status, invoice.amount_due) == (Invoice.Status.PAID, Decimal("0.00"))
        assert StatementLine.objects.get(pk=line.pk).status == StatementLine.Status.MATCHED
