"""Concurrency on PostgreSQL (real connections): sweeps racing each other send one reminder per
invoice, and two clerks confirming the same statement line record one payment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from tests.billing.conftest import TODAY, race
from tests.billing.statement_files import Tx, csv_statement
from throughline.billing.models import Payment, Reminder, StatementLine
from throughline.billing.services import dunning, reconciliation
from throughline.billing.services.statements import import_statement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
WORKERS = 6


def test_racing_sweeps_send_one_reminder_per_invoice(make_invoice, time_machine):
    assert connection.vendor == "postgresql"
    invoices = [make_invoice(issue=True, due_date=TODAY) for _ in range(3)]
    time_machine.move_to(dt.datetime.combine(TODAY + dt.timedelta(days=7), dt.time(9), dt.UTC))

    errors = race(*[dunning.sweep] * WORKERS)

    assert not errors, errors
    for invoice in invoices:
        sent = Reminder.objects.filter(invoice=invoice, outcome=Reminder.Outcome.SENT)
        assert list(sent.values_list("step_label", flat=True)) == ["Overdue reminder"]


def test_two_clerks_confirming_one_line_record_one_payment(actor, make_invoice):
    invoice = make_invoice(issue=True)
    txs = [Tx(TODAY, str(invoice.gross_total), "Ada Lovelace", "for the work")]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")
    reconciliation.reconcile(actor, send_receipts=False)
    line = StatementLine.objects.get(status=StatementLine.Status.SUGGESTED)

    errors = race(*[lambda: reconciliation.confirm_suggestion(actor, line)] * WORKERS)

    # the first wins; the others are told the line is already matched
    assert len(errors) == WORKERS - 1
    assert all("already matched" in str(e) for e in errors), errors
    assert Payment.objects.count() == 1
