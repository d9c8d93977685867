"""Manual payments: partial, full, overpayment kept as credit, credit applied, refunds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from tests.billing.conftest import TODAY, line
from throughline.billing.models import Allocation, Invoice, Payment
from throughline.billing.services import payments, settlement
from throughline.billing.services.errors import InvoiceStateError
from throughline.core.models import AuditEntry, DomainEvent


@pytest.fixture
def invoice(make_invoice):
    return make_invoice(issue=True)  # 120.00 GBP


def pay(actor, invoice, amount, **more):
    more.setdefault("received_on", TODAY)
    more.setdefault("send_receipt", False)
    return payments.record_payment(actor, invoice=invoice, amount=amount, **more)


def test_partial_then_full_payment(actor, invoice):
    first = pay(actor, invoice, "50.00", reference="BACS 1")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        Invoice.Status.PARTIALLY_PAID,
        Decimal("50.00"),
        Decimal("70.00"),
    )
    assert first.unallocated == 0
    pay(actor, invoice, "70.00", method="cheque")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_due == 0 and invoice.paid_at
    assert [
        e.name for e in DomainEvent.objects.filter(name__startswith="payment.").order_by("id")
    ] == [
        "payment.received",
        "payment.received",
    ]
    paid = DomainEvent.objects.get(name="invoice.paid")
    assert paid.subject_id == str(invoice.pk) and paid.payload["amount_paid"] == "120.00"
    assert AuditEntry.objects.filter(action="payment.recorded").count() == 2


def test_overpayment_is_kept_as_client_credit_and_used_on_the_next_invoice(
    actor, invoice, make_invoice
):
    payment = pay(actor, invoice, "150.00")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == Decimal("120.00")
    assert payment.unallocated == Decimal("30.00")
    assert settlement.credit_balance(invoice.contact, "GBP") == Decimal("30.00")
    event = DomainEvent.objects.get(name="payment.received")
    assert event.payload["credit"] == "30.00" and event.payload["allocated"] == "120.00"

    second = make_invoice(lines=[line(unit_price="50.00")], issue=True)  # 60.00
    applied = payments.apply_client_credit(actor, second)
    second.refresh_from_db()
    assert applied == Decimal("30.00")
    assert second.amount_due == Decimal("30.00") and second.status == Invoice.Status.PARTIALLY_PAID
    assert settlement.credit_balance(invoice.contact, "GBP") == 0
    with pytest.raises(ValidationError):
        payments.apply_client_credit(actor, second)  # nothing left


def test_payment_for_a_paid_invoice_becomes_credit(actor, invoice):
    pay(actor, invoice, "120.00")
    extra = pay(actor, invoice, "10.00")
    assert extra.amount_allocated == 0 and extra.unallocated == Decimal("10.00")


def test_grouped_payment_over_two_invoices(actor, invoice, make_invoice, client_contact):
    other = make_invoice(lines=[line(unit_price="10.00")], issue=True)  # 12.00
    payment = payments.record_payment(
        actor,
        contact=client_contact,
        currency="GBP",
        amount="140.00",
        allocations=[(invoice, "120.00"), (other, "12.00")],
        received_on=TODAY,
        send_receipt=False,
    )
    invoice.refresh_from_db()
    other.refresh_from_db()
    assert invoice.status == other.status == Invoice.Status.PAID
    assert payment.unallocated == Decimal("8.00")
    assert DomainEvent.objects.filter(name="invoice.paid").count() == 2
    with pytest.raises(ValidationError):
        payments.record_payment(
            actor,
            contact=client_contact,
            currency="GBP",
            amount="5.00",
            allocations=[(invoice, "5.00")],
            send_receipt=False,
        )  # more than is due on it


@pytest.mark.parametrize(
    "amount, field",
    [("12.345", "amount"), ("-5", "amount"), ("0", "amount"), ("abc", "amount")],
)
def test_bad_amounts_are_refused_and_nothing_is_recorded(actor, invoice, amount, field):
    with pytest.raises(ValidationError) as caught:
        pay(actor, invoice, amount)
    assert field in caught.value.message_dict
    assert not Payment.objects.exists()


def test_other_currency_future_date_and_drafts_are_refused(actor, invoice, make_invoice):
    with pytest.raises(ValidationError) as caught:
        pay(actor, invoice, "10.00", currency="EUR")
    assert "currency" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        pay(actor, invoice, "10.00", received_on=TODAY + dt.timedelta(days=10))
    assert "date" in caught.value.message_dict
    draft = make_invoice()
    with pytest.raises(ValidationError):
        pay(actor, draft, "10.00")
    assert not Payment.objects.exists()


def test_refund_comes_from_credit_first_then_reopens_the_invoice(actor, invoice):
    payment = pay(actor, invoice, "150.00")  # 30.00 credit
    payments.refund_payment(actor, payment, amount="30.00", reason="overpaid")
    invoice.refresh_from_db()
    payment.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID  # untouched: the credit went back
    assert payment.amount_refunded == Decimal("30.00") and payment.unallocated == 0

    payments.refund_payment(actor, payment, amount="20.00", reason="goodwill")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PARTIALLY_PAID and invoice.amount_due == Decimal(
        "20.00"
    )
    assert Allocation.objects.filter(
        kind=Allocation.Kind.REVERSAL, amount=Decimal("-20.00")
    ).exists()
    assert DomainEvent.objects.filter(name="payment.refunded").count() == 2
    with pytest.raises(ValidationError):
        payments.refund_payment(actor, payment, amount="100.01")  # more than is left (100.00)


def test_failed_payment_changes_nothing_due(actor, invoice):
    payments.record_failed_payment(
        actor,
        invoice=invoice,
        amount="120.00",
        currency="GBP",
        gateway="manual",
        reason="cheque bounced",
    )
    invoice.refresh_from_db()
    assert invoice.amount_due == Decimal("120.00") and invoice.status == Invoice.Status.ISSUED
    assert DomainEvent.objects.get(name="payment.failed").payload["reason"] == "cheque bounced"
    with pytest.raises(InvoiceStateError):
        payments.refund_payment(actor, Payment.objects.get(), amount="1.00")


def test_receipt_is_emailed_to_the_client(actor, invoice, smtp_server, run_jobs):
    pay(actor, invoice, "150.00", send_receipt=True, reference="BACS 42")
    run_jobs()
    [received] = [m for m in smtp_server.messages if "Payment received" in m["message"]["Subject"]]
    body = received["message"].get_body(preferencelist=("plain",)).get_content()
    assert received["envelope"].rcpt_tos == ["ada@acme.example"]
    assert "£150.00" in body and "BACS 42" in body and "£30.00 is kept as credit" in body
