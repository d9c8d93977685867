"""Sending: the e-mail with the Factur-X PDF reaches a real SMTP server; the client link opens
the invoice page, counts views and announces ``invoice.viewed``."""

from __future__ import annotations

import datetime as dt
import re

import facturx
import pytest

from throughline.billing.models import Invoice
from throughline.billing.services import sending
from throughline.billing.services.errors import InvoiceStateError
from throughline.core import public_tokens
from throughline.core.models import DomainEvent
from throughline.messaging.models import OutboundMessage


@pytest.fixture
def invoice(make_invoice):
    return make_invoice(
        issue=True,
        lines=[{"description": "Strategy <b>workshop</b>", "unit_price": "100", "tax_rate": "20"}],
    )


def test_invoice_email_carries_the_factur_x_pdf_and_a_client_link(
    actor, invoice, smtp_server, run_jobs, client
):
    outbound = sending.send_invoice(actor, invoice, message="Thanks for the project!")
    assert outbound.status == OutboundMessage.Status.QUEUED
    run_jobs()

    outbound.refresh_from_db()
    assert outbound.status == OutboundMessage.Status.SENT
    [received] = smtp_server.messages
    mail = received["message"]
    assert received["envelope"].rcpt_tos == ["ada@acme.example"]
    assert mail["Subject"] == f"Invoice {invoice.number} from Northwind"
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"{invoice.number}.pdf"
    assert attachment.get_content_type() == "application/pdf"
    pdf = attachment.get_content()
    filename, xml = facturx.get_xml_from_pdf(pdf)
    assert filename == "factur-x.xml" and invoice.number.encode() in xml
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Thanks for the project!" in text and "£120.00" in text
    url = re.search(r"http://\S+/c/(\S+)/invoice", text)
    assert url, text

    invoice.refresh_from_db()
    assert invoice.sent_at is not None and invoice.sent_count == 1
    sent = DomainEvent.objects.get(name="invoice.sent")
    assert sent.payload["to"] == "ada@acme.example"

    # the link in the e-mail opens the invoice page
    page = client.get(f"/c/{url.group(1)}/invoice")
    assert page.status_code == 200
    assert invoice.number.encode() in page.content
    assert b"Strategy &lt;b&gt;workshop&lt;/b&gt;" in page.content
    assert page["Referrer-Policy"] == "same-origin"


def test_drafts_cannot_be_sent_and_a_contact_without_address_is_refused(
    actor, make_invoice, client_company
):
    from django.core.exceptions import ValidationError

    from throughline.crm import services as crm

    with pytest.raises(InvoiceStateError):
        sending.send_invoice(actor, make_invoice())
    no_email = crm.create_contact(
        actor, first_name="Bob", phone="+442079460958", company=client_company
    )
    invoice = make_invoice(issue=True, contact=no_email)
    with pytest.raises(ValidationError) as caught:
        sending.send_invoice(actor, invoice)
    assert "to" in caught.value.message_dict
    assert not OutboundMessage.objects.exists()


def _token(invoice) -> str:
    return sending.new_client_link(invoice).split("/c/")[1].split("/")[0]


def test_views_are_counted_and_announced_first_then_at_most_hourly(invoice, client, time_machine):
    token = _token(invoice)
    for _ in range(3):
        assert client.get(f"/c/{token}/invoice").status_code == 200
    invoice.refresh_from_db()
    assert invoice.view_count == 3 and invoice.first_viewed_at is not None
    viewed = DomainEvent.objects.filter(name="invoice.viewed")
    assert viewed.count() == 1 and viewed.get().payload["first"] is True
    time_machine.shift(dt.timedelta(hours=2))
    client.get(f"/c/{token}/invoice")
    assert viewed.count() == 2
    assert viewed.order_by("id").last().payload == {
        "number": invoice.number,
        "first": False,
        "view_count": 4,
    }


def test_client_pages_refuse_bad_and_expired_links(invoice, client, time_machine):
    assert client.get("/c/not-a-real-token-at-all-xxxxxxxx/invoice").status_code == 404
    assert client.get("/c/short/invoice/pdf").status_code == 404
    token = _token(invoice)
    proposal_like = public_tokens.issue_token("proposal", invoice, expires_in=dt.timedelta(days=1))
    assert client.get(f"/c/{proposal_like}/invoice").status_code == 404  # another scope
    time_machine.shift(dt.timedelta(days=400))
    response = client.get(f"/c/{token}/invoice")
    assert response.status_code == 410
    invoice.refresh_from_db()
    assert invoice.view_count == 0


def test_client_downloads_the_pdf_and_ubl(invoice, client):
    token = _token(invoice)
    pdf = client.get(f"/c/{token}/invoice/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    ubl = client.get(f"/c/{token}/invoice/ubl")
    assert ubl.status_code == 200 and b"urn:fdc:peppol.eu:2017:poacc:billing:3.0" in ubl.content


def test_paid_and_void_pages_say_so(actor, invoice, client):
    from throughline.billing.services import credit_notes

    token = _token(invoice)
    credit_notes.credit_invoice(actor, invoice, reason="cancelled")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.VOID
    page = client.get(f"/c/{token}/invoice")
    assert b"cancelled by a credit note" in page.content and b"Pay now" not in page.content
