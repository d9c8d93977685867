"""Reconciliation on statement files generated in each format (CSV, OFX, CAMT.053): exact,
partial and grouped payments applied, the rest suggested or left unmatched; re-import dedup."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from throughline.billing.models import Invoice, Payment, StatementImport, StatementLine
from throughline.billing.services import reconciliation
from throughline.billing.services.statements import import_statement

from .conftest import TODAY
from .statement_files import Tx, camt053_statement, csv_statement, ofx_statement

ON = TODAY - dt.timedelta(days=1)


@pytest.fixture
def invoices(make_invoice):
    # four issued invoices of 120.00 GBP to Acme SARL (Ada Lovelace): INV-2025-00001 … 00004
    return [make_invoice(issue=True) for _ in range(4)]


def transactions() -> list[Tx]:
    return [
        Tx(ON, "120.00", "ACME SARL", "Payment INV-2025-00001 thank you", entry_id="E1"),
        Tx(ON, "50.00", "Acme", "inv 2025 2 first part", entry_id="E2"),
        Tx(ON, "240.00", "ACME S.A.R.L.", "INV-2025-00003 + INV-2025-00004", entry_id="E3"),
        Tx(ON, "99.99", "Somebody Else", "Birthday present", entry_id="E4"),
        Tx(ON, "-15.50", "Stationery Shop", "Paper", entry_id="E5"),
    ]


FILES = {
    "csv": lambda txs: ("statement.csv", csv_statement(txs)),
    "csv-decimal-comma": lambda txs: ("umsaetze.csv", csv_statement(txs, decimal_comma=True)),
    "ofx": lambda txs: ("statement.ofx", ofx_statement(txs)),
    "camt053.001.02": lambda txs: ("camt.xml", camt053_statement(txs, "001.02")),
    "camt053.001.08": lambda txs: ("camt.xml", camt053_statement(txs, "001.08")),
}
DE_MAPPING = {
    "columns": {
        "date": "Buchungstag",
        "amount": "Betrag",
        "currency": "Währung",
        "counterparty": "Auftraggeber",
        "remittance": "Verwendungszweck",
        "reference": "Referenz",
    },
    "decimal_comma": True,
    "date_format": "%d.%m.%Y",
}


def status_of(statement) -> list[tuple[str, str]]:
    return [(str(line.amount), line.status) for line in statement.lines.order_by("amount")]


@pytest.mark.parametrize("kind", list(FILES))
def test_each_format_imports_and_reconciles(actor, invoices, kind):
    # given a statement of this format from the bank
    filename, content = FILES[kind](transactions())
    mapping = DE_MAPPING if kind == "csv-decimal-comma" else None

    # when it is imported and reconciled
    statement = import_statement(actor, content=content, filename=filename, mapping=mapping)
    result = reconciliation.reconcile(actor, statement.lines.all(), send_receipts=False)

    # then the exact, the partial and the grouped payment are recorded; the rest waits
    assert statement.line_count == 5
    assert (result.matched, result.suggested, result.unmatched) == (3, 0, 1)
    assert status_of(statement) == [
        ("-15.50", "debit"),
        ("50.00", "matched"),
        ("99.99", "unmatched"),
        ("120.00", "matched"),
        ("240.00", "matched"),
    ]
    inv1, inv2, inv3, inv4 = (Invoice.objects.get(pk=i.pk) for i in invoices)
    assert (inv1.status, inv1.amount_due) == (Invoice.Status.PAID, Decimal("0.00"))
    assert (inv2.status, inv2.amount_due) == (Invoice.Status.PARTIALLY_PAID, Decimal("70.00"))
    assert inv3.status == inv4.status == Invoice.Status.PAID
    grouped = StatementLine.objects.get(amount=Decimal("240.00")).payment
    assert grouped.method == Payment.Method.BANK_TRANSFER and grouped.amount_allocated == 240
    assert sorted(grouped.allocations.values_list("invoice__number", flat=True)) == [
        "INV-2025-00003",
        "INV-2025-00004",
    ]
    assert grouped.received_on == ON


@pytest.mark.parametrize("kind", ["csv", "ofx", "camt053.001.02"])
def test_reimport_stores_nothing_twice_and_pays_nothing_twice(actor, invoices, kind):
    filename, content = FILES[kind](transactions())
    first = import_statement(actor, content=content, filename=filename)
    reconciliation.reconcile(actor, send_receipts=False)

    again = import_statement(actor, content=content, filename=filename)
    reconciliation.reconcile(actor, send_receipts=False)

    assert (again.line_count, again.duplicate_count) == (0, 5)
    assert StatementLine.objects.count() == 5 == first.line_count
    assert Payment.objects.count() == 3


def test_a_longer_statement_overlapping_the_last_one_adds_only_the_new_lines(actor, invoices):
    import_statement(actor, content=camt053_statement(transactions()[:2]), filename="a.xml")
    later = import_statement(actor, content=camt053_statement(transactions()), filename="b.xml")
    assert (later.line_count, later.duplicate_count) == (3, 2)


def test_two_identical_transfers_on_one_day_are_two_lines(actor, invoices):
    twice = [Tx(ON, "60.00", "Acme", "INV-2025-00001"), Tx(ON, "60.00", "Acme", "INV-2025-00001")]
    statement = import_statement(actor, content=csv_statement(twice), filename="s.csv")
    assert statement.line_count == 2
    reconciliation.reconcile(actor, send_receipts=False)
    assert Invoice.objects.get(pk=invoices[0].pk).status == Invoice.Status.PAID


def test_structured_creditor_reference_matches(actor, invoices):
    reference = reconciliation.rf_reference("INV-2025-00002")
    assert (
        reference.startswith("RF")
        and reconciliation.rf_check_digits(reference[4:]) == reference[2:4]
    )
    txs = [Tx(ON, "120.00", "Acme SARL", "", reference=reference, entry_id="R1")]
    import_statement(actor, content=camt053_statement(txs), filename="rf.xml")
    assert reconciliation.reconcile(actor, send_receipts=False).matched == 1
    assert Invoice.objects.get(pk=invoices[1].pk).status == Invoice.Status.PAID
    # a reference whose check digits are wrong is not trusted
    assert reconciliation.canonical_numbers("RF00INV202500002") == []


def test_amount_and_name_only_is_a_suggestion_confirmed_in_one_click(
    actor, make_invoice, client_contact
):
    invoice = make_invoice(
        issue=True, lines=[{"description": "Audit", "unit_price": "333.33", "tax_rate": "20"}]
    )
    txs = [Tx(ON, str(invoice.gross_total), "Ada Lovelace", "for the audit", entry_id="S1")]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")

    result = reconciliation.reconcile(actor, send_receipts=False)

    assert (result.matched, result.suggested) == (0, 1)
    line = StatementLine.objects.get()
    assert line.status == StatementLine.Status.SUGGESTED and line.confidence == Decimal("0.800")
    assert line.suggestion == [
        {
            "invoice_id": str(invoice.pk),
            "number": invoice.number,
            "amount": str(invoice.gross_total),
        }
    ]
    assert not Payment.objects.exists()

    payment = reconciliation.confirm_suggestion(actor, line)
    line.refresh_from_db()
    assert line.status == StatementLine.Status.MATCHED and line.payment == payment
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID
    assert payment.gateway_reference == f"statement-line:{line.pk}"


def test_overpayment_is_suggested_and_the_rest_becomes_credit(actor, invoices):
    txs = [Tx(ON, "150.00", "Acme SARL", "INV-2025-00001", entry_id="O1")]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")
    assert reconciliation.reconcile(actor, send_receipts=False).suggested == 1
    payment = reconciliation.confirm_suggestion(actor, StatementLine.objects.get())
    assert (payment.amount, payment.amount_allocated, payment.unallocated) == (
        Decimal("150.00"),
        Decimal("120.00"),
        Decimal("30.00"),
    )


def test_grouped_payment_that_does_not_add_up_is_suggested_oldest_first(actor, invoices):
    txs = [Tx(ON, "200.00", "Acme SARL", "INV-2025-00003 INV-2025-00004", entry_id="G1")]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")
    assert reconciliation.reconcile(actor, send_receipts=False).suggested == 1
    line = StatementLine.objects.get()
    assert [(s["number"], s["amount"]) for s in line.suggestion] == [
        ("INV-2025-00003", "120.00"),
        ("INV-2025-00004", "80.00"),
    ]


def test_unmatched_line_matched_by_hand_or_ignored(actor, invoices):
    txs = [
        Tx(ON, "120.00", "A. Lovelace", "see email", entry_id="U1"),
        Tx(ON, "7.00", "Bank", "interest", entry_id="U2"),
    ]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")
    reconciliation.reconcile(actor, send_receipts=False)
    first, second = StatementLine.objects.order_by("-amount")
    # four invoices of 120.00: the amount alone is not enough
    assert first.status == StatementLine.Status.SUGGESTED and first.confidence < Decimal("0.9")
    assert second.status == StatementLine.Status.UNMATCHED

    reconciliation.match_by_hand(actor, first, "INV-2025-00004")
    reconciliation.ignore_line(actor, second)
    assert Invoice.objects.get(pk=invoices[3].pk).status == Invoice.Status.PAID
    assert StatementLine.objects.get(pk=second.pk).status == StatementLine.Status.IGNORED
    assert not StatementImport.objects.filter(lines__status="unmatched").exists()


def test_a_number_in_another_currency_is_not_applied(actor, invoices):
    txs = [Tx(ON, "120.00", "Acme", "INV-2025-00001", currency="EUR", entry_id="C1")]
    import_statement(actor, content=csv_statement(txs), filename="s.csv")
    assert reconciliation.reconcile(actor, send_receipts=False).unmatched == 1
    assert not Payment.objects.exists()
