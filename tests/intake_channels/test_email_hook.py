"""POST /hooks/email: raw MIME → new lead, or the known contact's timeline; robots ignored."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from throughline.core.models import AuditEntry
from throughline.crm import services as crm
from throughline.crm.models import Activity
from throughline.crm.timeline import timeline_for
from throughline.intake.channels import email_inbound
from throughline.intake.channels.models import InboundAttachment, InboundEmail
from throughline.intake.models import Lead

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_message(
    sender="Ada Lovelace <ada@analytical.example>",
    subject="Quote for a new website",
    text="Hello,\nwe need a new website by June.\nAda",
    html=None,
    attachments=(),
    headers=None,
    message_id=None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "leads@northwind.example"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(timezone.now())
    msg["Message-ID"] = message_id or make_msgid(domain="analytical.example")
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def post(client, raw: bytes, token: str | None, **kwargs):
    headers = {"X-Throughline-Token": token} if token else {}
    return client.post(
        reverse("intake_channels:email_hook"),
        raw,
        content_type="message/rfc822",
        headers=headers,
        **kwargs,
    )


def test_new_sender_becomes_a_lead_with_body_html_and_attachment(client, mailbox):
    raw = make_message(
        html="<p>Hello, we need a <b>new website</b>.</p><script>alert('x')</script><img src=https://t.example/p.gif>",
        attachments=[
            ("brief.pdf", "application/pdf", PDF),
            ("setup.exe", "application/x-msdownload", b"MZ\x90\x00"),
        ],
    )
    response = post(client, raw, mailbox.raw_token)
    assert response.status_code == 201, response.content
    assert response.json()["outcome"] == "lead"
    lead = Lead.objects.get(pk=response.json()["lead_id"])
    assert (lead.channel, lead.source.slug) == ("email", "email")
    assert (lead.first_name, lead.last_name, lead.email) == (
        "Ada",
        "Lovelace",
        "ada@analytical.example",
    )
    assert lead.message.startswith(
        "Quote for a new website\n\nHello,\nwe need a new website by June."
    )
    assert "Attachments: brief.pdf" in lead.message
    email = InboundEmail.objects.get()
    assert email.lead == lead and email.contact == lead.contact
    assert "<b>new website</b>" in email.html_sanitized
    assert "<script" not in email.html_sanitized and "<img" not in email.html_sanitized
    attachment = InboundAttachment.objects.get()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "brief.pdf", "application/pdf", len(PDF),
    )  # fmt: skip
    with default_storage.open(attachment.file.name, "rb") as handle:
        assert handle.read() == PDF
    assert "setup.exe" in email.reason  # refused type, listed
    # the first message shows on the new contact's timeline
    titles = [e.title for e in timeline_for(lead.contact)]
    assert "E-mail received: Quote for a new website" in titles


def test_known_contact_joins_the_timeline_instead_of_a_new_lead(client, mailbox, actor):
    contact = crm.create_contact(
        actor, first_name="Ada", last_name="Lovelace", email="ADA@analytical.example"
    )
    raw = make_message(
        subject="Re: your proposal",
        text="Looks good, one question.",
        html="<p>Looks <i>good</i></p><script>steal()</script>",
        attachments=[("notes.txt", "text/plain", b"question 1")],
    )
    response = post(client, raw, mailbox.raw_token)
    assert response.status_code == 201
    assert response.json()["outcome"] == "timeline"
    assert not Lead.objects.exists()
    activity = Activity.objects.get(kind="email")
    assert activity.contact == contact
    assert (activity.direction, activity.subject) == ("in", "Re: your proposal")
    assert activity.body == "Looks good, one question."
    assert activity.metadata["html"] == "<p>Looks <i>good</i></p>"
    assert [a["filename"] for a in activity.metadata["attachments"]] == ["notes.txt"]
    assert InboundEmail.objects.get().activity == activity


AUTO = [
    ({"Auto-Submitted": "auto-replied"}, "Out of office", "auto_reply"),
    ({"X-Autoreply": "yes"}, "Re: Quote", "auto_reply"),
    ({"Precedence": "bulk"}, "Newsletter", "auto_reply"),
    ({"X-Auto-Response-Suppress": "All"}, "Automatic reply: Quote", "auto_reply"),
    ({}, "Automatic reply: away until Monday", "auto_reply"),
    ({"X-Failed-Recipients": "nobody@example.com"}, "Undelivered Mail", "bounce"),
    ({"List-Id": "<news.example.com>"}, "Weekly digest", "ignored"),
]


@pytest.mark.parametrize(("headers", "subject", "outcome"), AUTO)
def test_auto_replies_and_bounces_are_not_leads(client, mailbox, headers, subject, outcome):
    response = post(client, make_message(subject=subject, headers=headers), mailbox.raw_token)
    assert response.status_code == 201
    assert response.json()["outcome"] == outcome
    assert response.json()["lead_id"] is None
    assert not Lead.objects.exists()


def test_delivery_status_report_is_a_bounce(client, mailbox):
    report = (
        b"From: MAILER-DAEMON@mx.example\r\n"
        b"To: leads@northwind.example\r\n"
        b"Subject: Returned mail: see transcript for details\r\n"
        b"Message-ID: <bounce-1@mx.example>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe message could not be delivered.\r\n"
        b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; gone@example.com\r\n"
        b"Action: failed\r\nStatus: 5.1.1\r\n"
        b"--B--\r\n"
    )
    response = post(client, report, mailbox.raw_token)
    assert response.json()["outcome"] == "bounce"
    assert InboundEmail.objects.get().reason.startswith("delivery status report")
    assert not Lead.objects.exists()


def test_same_message_twice_is_taken_once(client, mailbox):
    raw = make_message(message_id="<fixed-1@analytical.example>")
    assert post(client, raw, mailbox.raw_token).status_code == 201
    again = post(client, raw, mailbox.raw_token)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert Lead.objects.count() == 1


def test_token_in_url_or_bearer_header(client, mailbox):
    url = reverse("intake_channels:email_hook_token", args=[mailbox.raw_token])
    response = client.post(url, make_message(), content_type="message/rfc822")
    assert response.status_code == 201
    bearer = client.post(
        reverse("intake_channels:email_hook"),
        make_message(sender="bob@example.com"),
        content_type="message/rfc822",
        headers={"Authorization": f"Bearer {mailbox.raw_token}"},
    )
    assert bearer.status_code == 201
    assert Lead.objects.count() == 2


@pytest.mark.parametrize("token", [None, "mbx_wrong"])
def test_missing_or_wrong_token_is_401_with_a_security_entry(client, mailbox, token):
    response = post(client, make_message(), token)
    assert response.status_code == 401
    assert not Lead.objects.exists() and not InboundEmail.objects.exists()
    assert (
        AuditEntry.objects.filter(action="security.webhook_rejected", object_id="email").count()
        == 1
    )


def test_bad_messages_are_refused_and_write_nothing(client, mailbox, monkeypatch):
    empty = post(client, b"", mailbox.raw_token)
    assert empty.status_code == 422
    garbage = post(client, b"this is not an e-mail", mailbox.raw_token)
    assert garbage.status_code == 422
    no_sender = post(client, make_message(sender="not an address"), mailbox.raw_token)
    assert no_sender.status_code == 422
    assert "from" in no_sender.json()["errors"] or "__all__" in no_sender.json()["errors"]
    monkeypatch.setattr(email_inbound, "MAX_EMAIL_BYTES", 1000)
    too_big = post(client, make_message(text="x" * 5000), mailbox.raw_token)
    assert too_big.status_code == 413
    assert not Lead.objects.exists() and not InboundEmail.objects.exists()


def test_escaped_on_the_staff_pages(client, mailbox, users, actor):
    raw = make_message(sender="Eve <eve@example.com>", subject="<script>alert(1)</script>")
    post(client, raw, mailbox.raw_token)
    client.force_login(actor.user)
    page = client.get(reverse("intake_channels:mailbox_list")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
