"""Issuing: numbers at issue (per type and year, gapless), frozen parties, immutability, and
the EN 16931 rules checked before anything is issued."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.billing.conftest import TODAY, line
from throughline.billing.models import ImmutableInvoiceError, Invoice, InvoiceLine
from throughline.billing.services import credit_notes, invoicing
from throughline.billing.services.errors import InvoiceStateError, IssueRefused
from throughline.core.models import AuditEntry, DomainEvent
from throughline.crm import services as crm


def test_numbers_are_assigned_at_issue_per_type_and_year(actor, make_invoice):
    draft = make_invoice()
    assert draft.number == "" and draft.status == Invoice.Status.DRAFT
    first = make_invoice(issue=True)
    second = make_invoice(issue=True)
    note = credit_notes.credit_invoice(actor, first, reason="wrong")
    assert [first.number, second.number, note.number] == [
        "INV-2025-00001",
        "INV-2025-00002",
        "CN-2025-00001",
    ]
    invoicing.issue_invoice(actor, draft, today=TODAY)
    draft.refresh_from_db()
    assert draft.number == "INV-2025-00003"  # created first, numbered when issued


def test_a_refused_issue_gives_its_number_back(actor, make_invoice, seller):
    make_invoice(issue=True)
    seller.vat_id = seller.tax_id = ""
    seller.save()
    refused = make_invoice()
    with pytest.raises(IssueRefused):
        invoicing.issue_invoice(actor, refused, today=TODAY)
    seller.vat_id = "GB123456789"
    seller.save()
    invoicing.issue_invoice(actor, refused, today=TODAY)
    refused.refresh_from_db()
    assert refused.number == "INV-2025-00002"  # no gap


def test_issue_freezes_the_parties_and_the_figures(actor, make_invoice, seller, client_company):
    invoice = make_invoice(lines=[line(unit_price="99.99")], issue=True)
    seller.legal_name = "Renamed Ltd"
    seller.save()
    crm.update_company(actor, client_company, name="Acme Renamed", address="Elsewhere")
    invoice.refresh_from_db()
    assert invoice.seller["name"] == "Northwind Consulting Ltd"
    assert invoice.buyer["name"] == "Acme SARL" and invoice.buyer["country"] == "FR"
    assert invoice.buyer["vat_id"] == "FR40303265045"
    assert (invoice.net_total, invoice.tax_total, invoice.gross_total) == (
        Decimal("99.99"),
        Decimal("20.00"),
        Decimal("119.99"),
    )
    assert invoice.due_date == TODAY + dt.timedelta(days=30)
    event = DomainEvent.objects.get(name="invoice.issued")
    assert event.payload["number"] == invoice.number and event.payload["gross_total"] == "119.99"
    assert AuditEntry.objects.filter(action="invoice.issued", object_id=str(invoice.pk)).exists()


def test_issued_invoices_cannot_change(actor, make_invoice):
    invoice = make_invoice(issue=True)
    # the services refuse
    with pytest.raises(InvoiceStateError):
        invoicing.update_invoice(actor, invoice, notes="changed")
    with pytest.raises(InvoiceStateError):
        invoicing.delete_invoice(actor, invoice)
    with pytest.raises(InvoiceStateError):
        invoicing.issue_invoice(actor, invoice)
    # and so does the model, for code that bypasses them
    invoice.refresh_from_db()
    invoice.notes = "sneaky"
    with pytest.raises(ImmutableInvoiceError):
        invoice.save()
    with pytest.raises(ImmutableInvoiceError):
        invoice.save(update_fields=["gross_total"])
    with pytest.raises(ImmutableInvoiceError):
        Invoice.objects.filter(pk=invoice.pk).update(gross_total=1)
    with pytest.raises(ImmutableInvoiceError):
        Invoice.objects.filter(pk=invoice.pk).delete()
    row = invoice.lines.get()
    row.unit_price = Decimal("1")
    with pytest.raises(ImmutableInvoiceError):
        row.save()
    with pytest.raises(ImmutableInvoiceError):
        InvoiceLine.objects.filter(invoice=invoice).update(unit_price=1)
    with pytest.raises(ImmutableInvoiceError):
        InvoiceLine.objects.filter(invoice=invoice).delete()
    invoice.refresh_from_db()
    assert invoice.notes == "" and invoice.gross_total == Decimal("120.00")


def test_drafts_change_freely_and_keep_their_figures_current(actor, make_invoice):
    draft = make_invoice(lines=[line()])
    invoicing.update_invoice(actor, draft, lines=[line(quantity="3")], discount_percent="10")
    draft.refresh_from_db()
    assert draft.lines_total == Decimal("300.00") and draft.allowance_total == Decimal("30.00")
    assert draft.gross_total == Decimal("324.00") and draft.amount_due == Decimal("324.00")
    invoicing.delete_invoice(actor, draft)
    assert not Invoice.objects.filter(pk=draft.pk).exists()


def test_the_rules_refuse_an_invoice_a_receiver_would_reject(actor, make_invoice, seller):
    # given: an organization without any VAT or registration id
    seller.vat_id = seller.tax_id = ""
    seller.save()
    invoice = make_invoice()
    # when
    with pytest.raises(IssueRefused) as caught:
        invoicing.issue_invoice(actor, invoice, today=TODAY)
    # then: the rule ids and messages, a hint, and still a draft without a number
    rules = {failure.rule for failure in caught.value.failures}
    assert {"BR-CO-26", "BR-S-02"} <= rules
    assert any("Settings" in message for message in caught.value.messages)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.DRAFT and invoice.number == ""
    assert not DomainEvent.objects.filter(name="invoice.issued").exists()


def test_reverse_charge_needs_the_clients_vat_id(actor, make_invoice, client_company):
    crm.update_company(actor, client_company, vat_id="")
    invoice = make_invoice(lines=[line(tax_rate="0", tax_category="AE")])
    with pytest.raises(IssueRefused) as caught:
        invoicing.issue_invoice(actor, invoice, today=TODAY)
    assert "BR-AE-02" in {f.rule for f in caught.value.failures}


def test_dates_follow_numbers_and_nothing_is_issued_in_the_future(actor, make_invoice):
    make_invoice(issue=True, issue_date=TODAY)
    earlier = make_invoice(issue_date=TODAY - dt.timedelta(days=3))
    with pytest.raises(ValidationError) as caught:
        invoicing.issue_invoice(actor, earlier, today=TODAY)
    assert "issue_date" in caught.value.message_dict
    future = make_invoice(issue_date=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValidationError):
        invoicing.issue_invoice(actor, future, today=TODAY)
    empty = make_invoice(lines=[])
    with pytest.raises(ValidationError) as caught:
        invoicing.issue_invoice(actor, empty, today=TODAY)
    assert "lines" in caught.value.message_dict


def test_a_new_year_starts_a_new_series(actor, make_invoice):
    make_invoice(issue=True, issue_date=dt.date(2024, 12, 31), today=TODAY)
    january = make_invoice(issue=True, issue_date=dt.date(2025, 1, 2))
    assert january.number == "INV-2025-00001"
    assert Invoice.objects.get(number="INV-2024-00001")


def test_deposit_paid_is_deducted_on_the_final_invoice(actor, make_invoice):
    from throughline.billing.services import payments

    deposit = make_invoice(
        kind="deposit", lines=[line("Deposit 50%", "1", "500.00", "20")], issue=True
    )
    assert deposit.number.startswith("INV-")
    payments.record_payment(
        actor, invoice=deposit, amount="600.00", received_on=TODAY, send_receipt=False
    )
    deposit.refresh_from_db()
    final = make_invoice(lines=[line("Project", "1", "1000.00", "20")])
    final = invoicing.update_invoice(actor, final, deposits=[deposit])
    final = invoicing.issue_invoice(actor, final, today=TODAY)
    assert final.gross_total == Decimal("1200.00")
    assert final.prepaid_amount == Decimal("600.00") and final.amount_due == Decimal("600.00")
    # a deposit is deducted once
    other = make_invoice()
    with pytest.raises(ValidationError):
        invoicing.update_invoice(actor, other, deposits=[deposit])
