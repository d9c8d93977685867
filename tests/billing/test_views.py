"""Staff pages: list and filters, a new draft, the editor with live totals, issue (showing rule
failures), send, record a payment, credit note, payments list and refund."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from tests.billing.conftest import TODAY
from throughline.billing.models import Invoice, Payment
from throughline.billing.services import payments

XSS = "<script>alert(1)</script>"


def editor_post(invoice, rows, **header):
    data = {
        "currency": invoice.currency,
        "kind": invoice.kind,
        "issue_date": "",
        "due_date": "",
        "delivery_date": "",
        "payment_terms": "",
        "buyer_reference": "",
        "discount_percent": "",
        "exchange_rate": "",
        "notes": "",
        "lines-TOTAL_FORMS": str(len(rows)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **header,
    }
    for i, row in enumerate(rows):
        defaults = {
            "quantity": "1",
            "unit": "",
            "discount_percent": "",
            "vat_category": "S",
            "vat_rate": "20",
            "exemption_reason_code": "",
            "exemption_reason": "",
        }
        for key, value in {**defaults, **row}.items():
            data[f"lines-{i}-{key}"] = value
    return data


def test_new_draft_edit_with_live_totals_and_issue(client_as, client_contact):
    client = client_as("billing")
    found = client.get(reverse("billing:invoice_create"), {"q": "lovelace"})
    assert str(client_contact.pk).encode() in found.content
    created = client.post(
        reverse("billing:invoice_create"),
        {"contact": client_contact.pk, "currency": "GBP", "kind": "standard"},
    )
    invoice = Invoice.objects.get()
    assert created.status_code == 302 and created["Location"] == reverse(
        "billing:invoice_detail", args=[invoice.pk]
    )

    editor = client.get(created["Location"])
    assert editor.status_code == 200 and b"Save and issue" in editor.content

    rows = [
        {"description": "Workshop", "quantity": "2", "unit_price": "450"},
        {"description": XSS, "unit_price": "10", "vat_rate": "5"},
    ]
    totals = client.post(
        reverse("billing:invoice_totals", args=[invoice.pk]),
        editor_post(invoice, rows, discount_percent="10"),
        HTTP_HX_REQUEST="true",
    )
    assert totals.status_code == 200
    # 900 + 10 = 910; −10% per group: 90.00 + 1.00; VAT 20% on 810 = 162.00, 5% on 9 = 0.45
    assert "£981.45" in totals.content.decode()
    invoice.refresh_from_db()
    assert invoice.gross_total == 0  # nothing saved by the live totals

    bad = client.post(
        reverse("billing:invoice_save", args=[invoice.pk]),
        editor_post(invoice, [{"description": "x", "unit_price": "1.123456"}]),
    )
    assert bad.status_code == 200 and b"at most 4 decimal places" in bad.content

    saved = client.post(
        reverse("billing:invoice_save", args=[invoice.pk]),
        editor_post(invoice, rows, discount_percent="10"),
    )
    assert saved.status_code == 302
    invoice.refresh_from_db()
    assert invoice.gross_total == Decimal("981.45") and invoice.lines.count() == 2

    issued = client.post(reverse("billing:invoice_issue", args=[invoice.pk]))
    assert issued.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "issued" and invoice.number
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk]))
    assert page.status_code == 200
    assert (
        XSS.encode() not in page.content
        and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content
    )


def test_issue_shows_the_rule_failures(client_as, make_invoice, seller):
    seller.vat_id = seller.tax_id = ""
    seller.save()
    invoice = make_invoice()
    response = client_as("billing").post(reverse("billing:invoice_issue", args=[invoice.pk]))
    assert response.status_code == 422
    assert b"BR-S-02" in response.content and b"Not issued" in response.content


def test_send_record_payment_and_credit_note(client_as, make_invoice, smtp_server, run_jobs):
    client = client_as("billing")
    invoice = make_invoice(issue=True)
    detail = reverse("billing:invoice_detail", args=[invoice.pk])
    assert (
        client.post(
            reverse("billing:invoice_send", args=[invoice.pk]), {"to": "", "message": "Hi"}
        ).status_code
        == 302
    )
    run_jobs()
    assert len(smtp_server.messages) == 1

    response = client.post(
        reverse("billing:payment_create", args=[invoice.pk]),
        {
            "amount": "150.00",
            "received_on": TODAY.isoformat(),
            "method": "bank_transfer",
            "reference": "BACS",
        },
        follow=True,
    )
    assert b"30.00 GBP is kept as the client" in response.content
    invoice.refresh_from_db()
    assert invoice.status == "paid"

    form = client.get(reverse("billing:credit_note_create", args=[invoice.pk]))
    assert form.status_code == 200
    row = invoice.lines.get()
    partial = client.post(
        reverse("billing:credit_note_create", args=[invoice.pk]),
        {
            "reason": "Half a day less",
            f"credit_qty_{row.pk}": "0.5",
        },
    )
    assert partial.status_code == 302 and partial["Location"] == detail
    note = Invoice.objects.get(document_type="credit_note")
    assert note.gross_total == Decimal("60.00")
    too_much = client.post(
        reverse("billing:credit_note_create", args=[invoice.pk]),
        {"reason": "x", f"credit_qty_{row.pk}": "2"},
    )
    assert too_much.status_code == 422


def test_list_filters_status_overdue_and_client(client_as, make_invoice, actor, time_machine):
    due_soon = make_invoice(issue=True, due_date=TODAY + dt.timedelta(days=10))
    overdue = make_invoice(issue=True, due_date=TODAY)
    draft = make_invoice()
    time_machine.shift(dt.timedelta(days=5))
    client = client_as("viewer")
    url = reverse("billing:invoice_list")
    everything = client.get(url).content.decode()
    assert due_soon.number in everything and overdue.number in everything and "Draft" in everything
    late = client.get(url, {"status": "overdue"}).content.decode()
    assert overdue.number in late and due_soon.number not in late
    drafts = client.get(
        url, {"status": "draft"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="invoice-results"
    )
    assert drafts.status_code == 200 and b"<html" not in drafts.content
    assert due_soon.number.encode() not in drafts.content
    by_client = client.get(url, {"q": "acme"}).content.decode()
    assert overdue.number in by_client
    assert client.get(url, {"q": "nobody-like-this"}).content.count(b"INV-2025") == 0
    assert draft.pk


def test_payments_list_and_refund(client_as, make_invoice, actor):
    invoice = make_invoice(issue=True)
    payment = payments.record_payment(actor, invoice=invoice, amount="120.00", send_receipt=False)
    viewer = client_as("viewer")
    assert viewer.get(reverse("billing:payment_list")).status_code == 200
    assert viewer.get(reverse("billing:payment_detail", args=[payment.pk])).status_code == 200
    assert (
        viewer.post(
            reverse("billing:payment_refund", args=[payment.pk]), {"amount": "1"}
        ).status_code
        == 403
    )
    billing = client_as("billing")
    response = billing.post(
        reverse("billing:payment_refund", args=[payment.pk]),
        {"amount": "20.00", "reason": "goodwill"},
    )
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("20.00")
    too_much = billing.post(reverse("billing:payment_refund", args=[payment.pk]), {"amount": "500"})
    assert too_much.status_code == 200 and b"can be refunded" in too_much.content
    assert Payment.objects.get().amount_refunded == Decimal("20.00")


@pytest.mark.parametrize("role", ["viewer", "sales", "delivery"])
def test_read_only_roles_see_but_cannot_change(client_as, make_invoice, role):
    invoice = make_invoice(issue=True)
    client = client_as(role)
    page = client.get(reverse("billing:invoice_detail", args=[invoice.pk]))
    assert page.status_code == 200 and b"Record payment" not in page.content
    assert client.post(reverse("billing:invoice_send", args=[invoice.pk])).status_code == 403
    assert client.post(reverse("billing:payment_create", args=[invoice.pk])).status_code == 403
    assert client.get(reverse("billing:invoice_create")).status_code == 403


def test_contact_timeline_shows_invoices_and_payments(make_invoice, actor, client_contact):
    from throughline.billing import timeline

    invoice = make_invoice(issue=True)
    payments.record_payment(actor, invoice=invoice, amount="120.00", send_receipt=False)
    titles = [e.title for e in timeline._invoices(client_contact, 10)]
    titles += [e.title for e in timeline._payments(client_contact, 10)]
    assert f"Invoice {invoice.number} issued: 120.00 GBP" in titles
    assert f"Payment received: 120.00 GBP for {invoice.number}" in titles
