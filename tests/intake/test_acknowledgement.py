"""The acknowledgement e-mail: queued in the capture transaction, delivered by a job."""

from __future__ import annotations

import datetime as dt

import time_machine

from throughline.core.services import update_user
from throughline.intake.models import LeadSource
from throughline.messaging.models import EmailTemplate, OutboundMessage

MONDAY_10 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def test_the_real_smtp_server_receives_the_acknowledgement_with_owner_and_next_step(
    capture, users, actor, smtp_server, run_jobs
):
    # given: a source whose leads go to Sam, five working minutes
    sam = users["sales"]
    update_user(actor, sam, full_name="Sam Patel")
    LeadSource.objects.create(slug="website-form", name="Website", default_owner=sam)
    with time_machine.travel(MONDAY_10, tick=False):
        result = capture(
            first_name="Ada",
            email="ada@example.com",
            source="website-form",
            message="Can you help with our <b>analytics</b>?",
        )
    assert smtp_server.messages == []  # nothing leaves inside the capture transaction

    # when: the worker runs the delivery job
    run_jobs()

    # then
    [received] = smtp_server.messages
    assert received["envelope"].rcpt_tos == ["ada@example.com"]
    mail = received["message"]
    assert mail["Subject"] == "Thanks for getting in touch with Northwind Consulting Ltd"
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith("Hi Ada,")
    assert "Sam Patel will get back to you within 5 minutes" in text
    assert "Can you help with our <b>analytics</b>?" in text  # plain text stays as typed
    html = mail.get_body(("html",)).get_content()
    assert "&lt;b&gt;analytics&lt;/b&gt;" in html  # and is escaped in the HTML part
    message = OutboundMessage.objects.get(source=result.lead.task_source)
    assert message.status == OutboundMessage.Status.SENT and message.contact == result.contact


def test_outside_working_hours_the_promise_names_the_next_working_morning(
    capture, smtp_server, run_jobs
):
    friday_night = dt.datetime(2026, 3, 6, 22, 0, tzinfo=dt.UTC)  # org time zone: UTC
    with time_machine.travel(friday_night, tick=False):
        capture(first_name="Ada", email="ada@example.com")
    run_jobs()
    text = smtp_server.messages[0]["message"].get_body(("plain",)).get_content()
    assert "will get back to you on Monday by 09:05" in text


def test_one_acknowledgement_per_lead_however_often_jobs_run(capture, smtp_server, run_jobs):
    capture(email="a@example.com")
    capture(email="a@example.com")  # a second inquiry is a second lead: a second answer
    run_jobs()
    run_jobs()
    assert len(smtp_server.messages) == 2
    assert OutboundMessage.objects.filter(idempotency_key__startswith="lead-ack:").count() == 2


def test_no_acknowledgement_without_an_email_or_when_the_channel_says_so(
    capture, smtp_server, run_jobs
):
    capture(first_name="Ada", phone="020 7946 0958")
    capture(email="quiet@example.com", acknowledge=False)
    run_jobs()
    assert smtp_server.messages == []


def test_a_deleted_template_does_not_stop_capture(capture):
    EmailTemplate.objects.filter(key="lead-acknowledgement").delete()
    result = capture(email="a@example.com")
    assert result.lead.pk and result.acknowledgement is None
