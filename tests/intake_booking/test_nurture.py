"""Nurture for leads: merge fields from contact and lead, stops on reply, booking, rejection."""

from __future__ import annotations

import pytest
import time_machine

from tests.intake_booking.conftest import at
from throughline.automation.models import Enrollment, Sequence
from throughline.automation.sequences import services as sequences
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm import services as crm
from throughline.crm.custom_field_services import create_custom_field
from throughline.intake import services as intake
from throughline.intake.booking import nurture, services
from throughline.intake.capture import ConsentInput, LeadInput, capture_lead
from throughline.messaging.models import EmailTemplate

NOW = at(2026, 3, 26, 12, 0)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sequence(actor):
    EmailTemplate.objects.create(
        key="nurture-hello",
        name="Nurture: hello",
        kind="marketing",
        subject="{{ lead.service_line }} for {{ contact.first_name }}",
        body_text=(
            "Hi {{ contact.first_name }}, you asked about {{ lead.service_line }}.\n"
            "{{ owner.first_name }} would like to talk: {{ booking_link }}"
        ),
    )

    def make(key="lead-nurture", stop_on=("replied", "meeting_booked", "converted")):
        return sequences.create_sequence(
            actor,
            key=key,
            name=key.title(),
            purpose=Sequence.Purpose.NURTURE,
            stop_on=list(stop_on),
            steps=[
                {"kind": "email", "template_key": "nurture-hello"},
                {"kind": "wait", "wait_business_days": 3},
                {"kind": "email", "template_key": "nurture-hello"},
            ],
        )

    return make


@pytest.fixture
def lead_of(actor, host, booking_page):
    create_custom_field(actor, entity="lead", key="service_line", label="Service", kind="text")

    def make(email="ada@example.org", first_name="Ada"):
        return capture_lead(
            Actor(user=None, channel=Channel.API),
            LeadInput(
                first_name=first_name,
                email=email,
                owner=host,
                custom={"service_line": "Bookkeeping"},
                consents=[ConsentInput(purpose="marketing", wording_version="1")],
                acknowledge=False,
            ),
        ).lead

    return make


def test_nurture_emails_merge_contact_and_lead_fields_and_stop_on_reply(
    actor, sequence, lead_of, run_jobs, smtp_server
):
    lead = lead_of()
    enrollment, created = nurture.enrol_lead(actor, lead, sequence())
    assert created
    run_jobs()
    [received] = [m["message"] for m in smtp_server.messages]
    assert received["Subject"] == "Bookkeeping for Ada"
    body = received.get_body(("plain",)).get_content()
    assert "you asked about Bookkeeping" in body
    assert "Sam would like to talk: http://" in body and "/b/sam" in body
    # the person replies
    crm.log_activity(
        actor,
        kind="email",
        contact=lead.contact,
        subject="Re: Bookkeeping",
        body="Sounds good",
        direction="in",
    )
    run_jobs()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "replied")


def test_a_booking_stops_the_leads_nurture_even_without_that_stop_condition(
    actor, sequence, lead_of, booking_page, run_jobs
):
    lead = lead_of()
    enrollment, _ = nurture.enrol_lead(actor, lead, sequence(stop_on=["replied"]))
    run_jobs()
    services.book_meeting(
        Actor(user=None, channel=Channel.PORTAL),
        booking_page,
        starts_at=at(2026, 3, 30, 7, 0),
        name="Ada",
        email="ada@example.org",
    )
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "meeting_booked")
    results = nurture.lead_results(enrollment.sequence)
    assert (results["enrolled"], results["booked"], results["active"]) == (1, 1, 0)


def test_a_rejected_lead_leaves_nurture(actor, sequence, lead_of, run_jobs):
    lead = lead_of()
    enrollment, _ = nurture.enrol_lead(actor, lead, sequence())
    intake.reject_lead(actor, lead, reason="not_a_fit")
    run_jobs()
    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "removed")
    lead.refresh_from_db()
    with pytest.raises(Exception, match="no nurture"):
        nurture.enrol_lead(actor, lead, enrollment.sequence)
    assert Enrollment.objects.count() == 1


def test_the_results_page_shows_each_sequence(actor, sequence, lead_of, client_as):
    nurture.enrol_lead(actor, lead_of(), sequence())
    html = client_as("sales").get("/intake/nurture/").content.decode()
    assert "Lead-Nurture" in html
