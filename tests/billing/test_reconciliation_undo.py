"""Undoing a wrong bank-statement match, and restoring an ignored line: the money is taken back
exactly (invoices, client credit, collected figures), refused when the payment changed since,
reminders resume, and only billing staff may do it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.urls import reverse

from throughline.billing import services
from throughline.billing.models import (
    Allocation,
    DunningCase,
    Payment,
    Reminder,
    StatementLine,
)
from throughline.billing.services import dunning, reconciliation, settlement
from throughline.billing.services.errors import InvoiceStateError
from throughline.billing.services.statements import import_statement
from throughline.core import audit_log
from throughline.core.models import AuditEntry, DomainEvent
from throughline.reports.aging import aging, open_invoices
from throughline.reports.backtest import receipts
from throughline.reports.kpis.billing import billing_kpis
from throughline.reports.kpis.filters import Filters

from .conftest import TODAY
from .statement_files import Tx, csv_statement

ON = TODAY - dt.timedelta(days=1)
D = Decimal


@pytest.fixture
def invoices(make_invoice):
    # four issued invoices of 120.00 GBP (100.00 + 20% VAT) to Acme SARL: INV-2025-00001 … 00004
    return [make_invoice(issue=True) for _ in range(4)]


def bank(actor, *txs: Tx) -> list[StatementLine]:
    """Import ``txs`` as a statement and reconcile it (no receipts); its lines by amount."""
    statement = import_statement(actor, content=csv_statement(list(txs)), filename="bank.csv")
    reconciliation.reconcile(actor, statement.lines.all(), send_receipts=False)
    return list(statement.lines.order_by("amount", "pk"))


def fresh(obj):
    return type(obj).objects.get(pk=obj.pk)


def settled(invoice) -> tuple[str, Decimal, Decimal, object]:
    invoice = fresh(invoice)
    return invoice.status, invoice.amount_paid, invoice.amount_due, invoice.paid_at


def collected() -> Decimal:
    return billing_kpis(Filters(start=ON, end=TODAY))["collected"]


def test_auto_match_undone_reopens_the_invoice_and_nothing_counts_as_received(actor, invoices):
    # given a transfer naming INV-2025-00001 with its exact amount: matched on import
    [line] = bank(actor, Tx(ON, "120.00", "ACME SARL", "Payment INV-2025-00001", entry_id="E1"))
    assert line.status == StatementLine.Status.MATCHED
    payment = line.payment
    assert settled(invoices[0])[:3] == ("paid", D("120.00"), D("0.00"))
    assert collected() == D("120.00") == receipts(ON, TODAY, "GBP")
    assert aging(TODAY)["total"] == D("360.00")

    # when staff undo the match
    reversed_payment = reconciliation.undo_match(actor, line, reason="Paid by another Acme")

    # then the invoice is open again with exactly what it owed, and it was never paid
    assert settled(invoices[0]) == ("issued", D("0.00"), D("120.00"), None)
    payment = fresh(payment)
    assert reversed_payment.pk == payment.pk
    assert (payment.status, payment.amount_allocated, payment.unallocated) == (
        "reversed",
        D("0.00"),
        0,
    )
    assert payment.failure_reason == "Bank statement match undone: Paid by another Acme"
    assert sorted((a.kind, a.amount) for a in Allocation.objects.filter(invoice=invoices[0])) == [
        ("payment", D("120.00")),
        ("reversal", D("-120.00")),
    ]
    # collected (KPIs), the backtest's receipts and AR aging, today and on the booking day
    assert collected() == D("0.00") == receipts(ON, TODAY, "GBP")
    assert aging(TODAY)["total"] == D("480.00")
    # the as-of path sums allocations (payment + reversal): nothing settled INV-1 either
    assert sum(row.open_amount for row in open_invoices(TODAY)) == D("480.00")
    assert settlement.credit_balance(invoices[0].contact, "GBP") == D("0")

    # the line is open again: suggested (the same invoice still fits), never applied alone
    line = fresh(line)
    assert (line.status, line.payment, line.matched_at) == ("suggested", None, None)
    assert line.confidence == D("0.990") and line.undone_at is not None
    assert [s["number"] for s in line.suggestion] == ["INV-2025-00001"]
    result = reconciliation.reconcile(actor, send_receipts=False)
    assert (result.matched, result.suggested) == (0, 1)
    assert settled(invoices[0])[0] == "issued"

    # the event says what happened, with the facts, for integrations
    event = DomainEvent.objects.get(name="payment.reversed")
    assert event.subject_id == str(payment.pk)
    assert event.payload["invoice_ids"] == event.payload["reopened_invoice_ids"]
    assert event.payload["invoice_ids"] == [str(invoices[0].pk)]
    assert (event.payload["amount"], event.payload["allocated"], event.payload["credit"]) == (
        "120.00",
        "120.00",
        "0.00",
    )
    assert event.payload["statement_line_id"] == line.pk

    # and the audit trail has the payment, the invoice and the statement, chain intact
    entries = {
        (e.action, e.object_type, e.object_id): e
        for e in AuditEntry.objects.filter(actor=actor.user)
    }
    reversed_entry = entries["payment.reversed", "billing.payment", str(payment.pk)]
    assert reversed_entry.changes["status"] == ["succeeded", "reversed"]
    assert reversed_entry.changes["invoices"][0] == {str(invoices[0].pk): "120.00"}
    invoice_entry = entries["invoice.payment_reversed", "billing.invoice", str(invoices[0].pk)]
    assert invoice_entry.changes["status"] == ["paid", "issued"]
    undone = entries["statement.match_undone", "billing.statementimport", str(line.statement_id)]
    assert undone.changes["invoices"] == [["INV-2025-00001"], None]
    assert audit_log.verify_chain().ok

    # staff may then match it right: a new payment, the reversed one stays for the record
    payment_again = reconciliation.match_by_hand(actor, line, "INV-2025-00002")
    assert payment_again.pk != payment.pk
    assert payment_again.gateway_reference == f"statement-line:{line.pk}"
    assert settled(invoices[1])[:3] == ("paid", D("120.00"), D("0.00"))
    assert collected() == D("120.00")
    assert Payment.objects.filter(status="reversed").count() == 1


def test_grouped_transfer_over_two_invoices_undone(actor, invoices):
    # given INV-3 already partly paid by cheque, then one transfer settling INV-3 and INV-4
    services.record_payment(
        actor, invoice=invoices[2], amount="20.00", method="cheque", send_receipt=False
    )
    [line] = bank(actor, Tx(ON, "220.00", "Acme SARL", "INV-2025-00003 + INV-2025-00004"))
    assert line.status == StatementLine.Status.MATCHED
    assert settled(invoices[2])[:3] == ("paid", D("120.00"), D("0.00"))
    assert settled(invoices[3])[:3] == ("paid", D("120.00"), D("0.00"))
    assert collected() == D("240.00")

    reconciliation.undo_match(actor, line)

    # INV-3 keeps the cheque (partially paid again), INV-4 owes all of it again
    assert settled(invoices[2]) == ("partially_paid", D("20.00"), D("100.00"), None)
    assert settled(invoices[3]) == ("issued", D("0.00"), D("120.00"), None)
    payment = Payment.objects.get(gateway="bank")
    assert payment.status == "reversed"
    net = {
        row["invoice__number"]: row["total"]
        for row in payment.allocations.values("invoice__number")
        .order_by()
        .annotate(total=Sum("amount"))
    }
    assert net == {"INV-2025-00003": D("0"), "INV-2025-00004": D("0")}
    assert collected() == D("20.00")
    assert sorted(
        entry.changes["status"]
        for entry in AuditEntry.objects.filter(action="invoice.payment_reversed")
    ) == [["paid", "issued"], ["paid", "partially_paid"]]
    assert fresh(line).status == StatementLine.Status.SUGGESTED


def test_overpayment_undone_removes_the_clients_credit(actor, invoices, client_contact):
    # given 150.00 for a 120.00 invoice, confirmed: 30.00 kept as the client's credit
    [line] = bank(actor, Tx(ON, "150.00", "Acme SARL", "INV-2025-00001"))
    reconciliation.confirm_suggestion(actor, line)
    assert settlement.credit_balance(client_contact, "GBP") == D("30.00")

    payment = reconciliation.undo_match(actor, line)

    assert settlement.credit_balance(client_contact, "GBP") == D("0")
    assert (payment.amount_allocated, payment.amount_refunded, payment.unallocated) == (
        D("0.00"),
        D("0.00"),
        0,
    )
    assert settled(invoices[0]) == ("issued", D("0.00"), D("120.00"), None)
    assert collected() == D("0.00")
    event = DomainEvent.objects.get(name="payment.reversed")
    assert (event.payload["allocated"], event.payload["credit"]) == ("120.00", "30.00")
    # the credit can no longer be spent or refunded
    with pytest.raises(Exception, match="no credit"):
        services.apply_client_credit(actor, invoices[1])
    with pytest.raises(InvoiceStateError):
        services.refund_payment(actor, payment, amount="30.00")


def snapshot(line, invoices) -> tuple:
    line = fresh(line)
    return (
        line.status,
        line.payment_id,
        [(p.status, p.amount_allocated, p.amount_refunded) for p in Payment.objects.order_by("pk")],
        [settled(i) for i in invoices],
        Allocation.objects.count(),
        AuditEntry.objects.exclude(action="access.denied").count(),
        DomainEvent.objects.count(),
    )


@pytest.mark.parametrize("since", ["refunded", "credit used elsewhere", "credit note"])
def test_a_payment_changed_since_is_not_undone_and_nothing_changes(actor, invoices, since):
    # given an overpayment matched: 120.00 on INV-1 and 30.00 credit
    [line] = bank(actor, Tx(ON, "150.00", "Acme SARL", "INV-2025-00001"))
    payment = reconciliation.confirm_suggestion(actor, line)
    if since == "refunded":
        services.refund_payment(actor, payment, amount="30.00", reason="overpaid")
    elif since == "credit used elsewhere":
        assert services.apply_client_credit(actor, invoices[1]) == D("30.00")
    else:  # a credit note on the paid invoice takes the payment back off it
        services.credit_invoice(actor, invoices[0], reason="Cancelled")
    before = snapshot(line, invoices)

    with pytest.raises(InvoiceStateError, match="cannot be undone"):
        reconciliation.undo_match(actor, line)

    assert snapshot(line, invoices) == before


def test_only_a_matched_line_is_undone(actor, invoices):
    lines = bank(
        actor,
        Tx(ON, "7.00", "Bank", "interest"),
        Tx(ON, "120.00", "Acme", "INV-2025-00001"),
    )
    with pytest.raises(InvoiceStateError, match="not matched"):
        reconciliation.undo_match(actor, lines[0])
    reconciliation.undo_match(actor, lines[1])
    with pytest.raises(InvoiceStateError, match="not matched"):
        reconciliation.undo_match(actor, lines[1])
    assert Payment.objects.get().status == "reversed"
    assert DomainEvent.objects.filter(name="payment.reversed").count() == 1


def test_ignored_lines_are_restored_with_a_fresh_suggestion(actor, invoices):
    interest, transfer = bank(
        actor,
        Tx(ON, "7.00", "Bank", "interest"),
        Tx(ON, "120.00", "A. Lovelace", "see email"),
    )
    assert (interest.status, transfer.status) == ("unmatched", "suggested")
    reconciliation.ignore_line(actor, interest)
    reconciliation.ignore_line(actor, transfer)
    # meanwhile three of the four invoices of that amount are paid by cheque
    for invoice in invoices[:3]:
        services.record_payment(
            actor, invoice=invoice, amount="120.00", method="cheque", send_receipt=False
        )

    assert reconciliation.restore_line(actor, interest).status == "unmatched"
    restored = reconciliation.restore_line(actor, transfer)

    restored = fresh(restored)
    # one invoice of that amount left, and the payer's name fits its client
    assert restored.status == "suggested" and restored.confidence == D("0.800")
    assert restored.suggestion == [
        {"invoice_id": str(invoices[3].pk), "number": "INV-2025-00004", "amount": "120.00"}
    ]
    assert restored.payment is None and not Payment.objects.filter(gateway="bank").exists()
    assert [
        e.changes
        for e in AuditEntry.objects.filter(action="statement.line_restored").order_by("seq")
    ] == [
        {"line": [None, interest.pk], "status": ["ignored", "unmatched"]},
        {"line": [None, transfer.pk], "status": ["ignored", "suggested"]},
    ]
    with pytest.raises(InvoiceStateError, match="Only an ignored line"):
        reconciliation.restore_line(actor, restored)


def test_reminders_resume_when_the_paying_match_is_undone(
    actor, make_invoice, run_jobs, time_machine
):
    due = TODAY + dt.timedelta(days=10)
    invoice = make_invoice(issue=True, due_date=due)

    def on(day: dt.date) -> None:
        time_machine.move_to(dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC))

    on(due)
    assert dunning.sweep().sent == 1  # "Due today"
    bank(actor, Tx(due, "120.00", "Acme", invoice.number))
    run_jobs()  # invoice.paid closes the case
    assert DunningCase.objects.get(invoice=invoice).state == DunningCase.State.PAID

    on(due + dt.timedelta(days=7))
    reconciliation.undo_match(actor, StatementLine.objects.get())
    assert DunningCase.objects.get(invoice=invoice).state == DunningCase.State.ACTIVE
    assert dunning.sweep().sent == 1
    sent = invoice.reminders.filter(outcome=Reminder.Outcome.SENT).order_by("step_index")
    assert [(r.step_label, r.sent_on) for r in sent] == [
        ("Due today", due),
        ("Overdue reminder", due + dt.timedelta(days=7)),
    ]
    assert DomainEvent.objects.get(name="payment.reversed").payload["reminders_resumed"] == 1


def test_invoice_paid_handled_after_the_undo_leaves_reminders_on(
    actor, make_invoice, run_jobs, time_machine
):
    due = TODAY + dt.timedelta(days=2)
    invoice = make_invoice(issue=True, due_date=due)
    dunning.sweep()  # the case exists (the friendly step is due)
    assert DunningCase.objects.get(invoice=invoice).state == DunningCase.State.ACTIVE
    [line] = bank(actor, Tx(ON, "120.00", "Acme", invoice.number))
    reconciliation.undo_match(actor, line)  # before any worker ran invoice.paid's handler
    run_jobs()
    assert DunningCase.objects.get(invoice=invoice).state == DunningCase.State.ACTIVE


def test_a_receipt_still_queued_is_withdrawn(actor, invoices, smtp_server, run_jobs):
    from throughline.messaging.models import OutboundMessage

    statement = import_statement(
        actor, content=csv_statement([Tx(ON, "120.00", "Acme", "INV-2025-00001")]), filename="b"
    )
    reconciliation.reconcile(actor, statement.lines.all())  # queues the receipt e-mail
    reconciliation.undo_match(actor, statement.lines.get())
    run_jobs()
    assert smtp_server.messages == []
    message = OutboundMessage.objects.get(idempotency_key__startswith="billing.receipt:")
    assert message.status == OutboundMessage.Status.SUPPRESSED
    assert message.status_reason == "withdrawn: the payment was reversed"


def test_billing_staff_undo_and_restore_from_the_statement_page(client_as, actor, invoices):
    matched, ignored = bank(
        actor, Tx(ON, "7.00", "Bank", "interest"), Tx(ON, "120.00", "Acme", "INV-2025-00001")
    )[::-1]
    reconciliation.ignore_line(actor, ignored)
    staff = client_as("billing")
    page = staff.get(reverse("billing:statement_detail", args=[matched.statement_id]))
    assert reverse("billing:line_undo", args=[matched.pk]).encode() in page.content
    assert b'data-confirm="Undo this match?' in page.content
    assert reverse("billing:line_restore", args=[ignored.pk]).encode() in page.content
    payment_page = staff.get(reverse("billing:payment_detail", args=[matched.payment_id]))
    assert reverse("billing:line_undo", args=[matched.pk]).encode() in payment_page.content

    assert staff.get(reverse("billing:line_undo", args=[matched.pk])).status_code == 405
    response = staff.post(reverse("billing:line_undo", args=[matched.pk]), follow=True)
    assert b"Match undone: the payment of 120.00 GBP is reversed" in response.content
    assert settled(invoices[0])[0] == "issued"
    response = staff.post(reverse("billing:line_undo", args=[matched.pk]), follow=True)
    assert b"This line is not matched" in response.content

    response = staff.post(reverse("billing:line_restore", args=[ignored.pk]), follow=True)
    assert b"back on the list to reconcile" in response.content
    assert fresh(ignored).status == "unmatched"


@pytest.mark.parametrize("role", ["sales", "viewer", "delivery"])
def test_only_billing_roles_may_undo_or_restore(client_as, actor, invoices, role):
    matched, ignored = bank(
        actor, Tx(ON, "7.00", "Bank", "interest"), Tx(ON, "120.00", "Acme", "INV-2025-00001")
    )[::-1]
    reconciliation.ignore_line(actor, ignored)
    before = snapshot(matched, invoices)
    someone = client_as(role)
    assert someone.post(reverse("billing:line_undo", args=[matched.pk])).status_code == 403
    assert someone.post(reverse("billing:line_restore", args=[ignored.pk])).status_code == 403
    assert snapshot(matched, invoices) == before
    assert fresh(ignored).status == "ignored"
    assert AuditEntry.objects.filter(action="access.denied").count() == 2
