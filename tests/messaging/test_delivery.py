import pytest
from django.test import Client

from throughline.crm import services as crm
from throughline.messaging import services
from throughline.messaging.models import EmailTemplate, Kind, OutboundMessage, Suppression


@pytest.fixture
def contact(actor):
    return crm.create_contact(
        actor, first_name="Ada", last_name="Lovelace", email="ada@example.com"
    )


def test_queued_email_is_delivered_to_a_real_smtp_server(actor, contact, smtp_server, run_jobs):
    message = services.queue_email(
        actor,
        to=contact.email,
        subject="Hello",
        body_text="Plain body",
        body_html="<p>Rich</p>",
        contact=contact,
    )
    assert message.status == OutboundMessage.Status.QUEUED
    assert smtp_server.messages == []  # nothing leaves before the job runs (after commit)

    run_jobs()

    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT and message.sent_at is not None
    [received] = smtp_server.messages
    assert received["envelope"].rcpt_tos == ["ada@example.com"]
    mail = received["message"]
    assert mail["Subject"] == "Hello"
    assert mail["Message-ID"] == message.message_id
    assert mail["List-Unsubscribe"].strip() == f"<{services.unsubscribe_url(message)}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_idempotency_key_sends_once(actor, contact, smtp_server, run_jobs):
    for _ in range(3):
        services.queue_email(
            actor, to=contact.email, subject="Thanks", body_text="x", idempotency_key="ack:lead-1"
        )
    run_jobs()
    assert OutboundMessage.objects.count() == 1
    assert len(smtp_server.messages) == 1


def test_marketing_needs_consent_and_honours_unsubscribe(actor, contact, smtp_server, run_jobs):
    no_consent = services.queue_email(
        actor, to=contact.email, subject="News", body_text="x", contact=contact, kind=Kind.MARKETING
    )
    assert no_consent.status == OutboundMessage.Status.SUPPRESSED
    assert "consent" in no_consent.status_reason

    crm.record_consent(actor, contact, purpose="marketing", granted=True, wording_version="1")
    sent = services.queue_email(
        actor, to=contact.email, subject="News", body_text="x", contact=contact, kind=Kind.MARKETING
    )
    run_jobs()
    assert len(smtp_server.messages) == 1

    # One-click unsubscribe: the mail client POSTs to the List-Unsubscribe URL, no session.
    response = Client().post(
        services.unsubscribe_url(sent).removeprefix("http://127.0.0.1:8000"),
        {"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    assert Suppression.objects.filter(email_normalized="ada@example.com").exists()
    assert not crm.has_consent(contact, "marketing")

    later = services.queue_email(
        actor,
        to=contact.email,
        subject="More news",
        body_text="x",
        contact=contact,
        kind=Kind.MARKETING,
    )
    assert later.status == OutboundMessage.Status.SUPPRESSED
    # Transactional mail (a receipt, a reply) still goes to an unsubscribed address.
    receipt = services.queue_email(actor, to=contact.email, subject="Receipt", body_text="x")
    run_jobs()
    receipt.refresh_from_db()
    assert receipt.status == OutboundMessage.Status.SENT


def test_templates_merge_fields_and_escape_html(actor, contact, smtp_server, run_jobs):
    EmailTemplate.objects.create(
        key="ack",
        name="Acknowledgement",
        subject="Thanks, {{ contact.first_name }}",
        body_text="Hi {{ contact.first_name }}, {{ owner }} will call you.",
        body_html="<p>Hi {{ contact.first_name }}</p><script>alert(1)</script>",
    )
    contact = crm.update_contact(actor, contact, first_name="<b>Ada</b>")
    message = services.queue_templated_email(
        actor,
        "ack",
        to=contact.email,
        context={"contact": contact, "owner": "Sam"},
        contact=contact,
    )
    assert message.subject == "Thanks, <b>Ada</b>"  # plain text: not HTML-escaped
    assert "Sam will call you" in message.body_text
    assert "&lt;b&gt;Ada&lt;/b&gt;" in message.body_html
    assert "<script>" not in message.body_html


def test_unreachable_smtp_server_is_retried_not_lost(actor, contact, settings, run_jobs):
    from django_tasks_db.models import DBTaskResult

    from tests.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    message = services.queue_email(actor, to=contact.email, subject="Hello", body_text="x")
    run_jobs()
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.QUEUED
    job = DBTaskResult.objects.get(task_path__endswith="deliver_message")
    assert job.status == "READY" and job.exception_class_path == "builtins.ConnectionRefusedError"
