"""Speed to lead: deadlines in working time, the breach sweep, first responses."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from throughline.core import scheduler
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, DomainEvent
from throughline.core.roles import Role
from throughline.crm import services as crm
from throughline.crm.models import Activity, Task
from throughline.intake import services, sla
from throughline.intake.models import Lead, LeadSource
from throughline.intake.tasks import sla_sweep
from throughline.messaging.models import OutboundMessage

UTC = dt.UTC
LONDON = zoneinfo.ZoneInfo("Europe/London")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
WEEKDAYS_9_TO_5 = {str(d): ["09:00", "17:00"] for d in range(1, 6)}


def due(start: dt.datetime, minutes: int = 5, tz: str = "Europe/London", hours=None):
    return sla.add_working_minutes(
        start, minutes, time_zone=tz, working_hours=WEEKDAYS_9_TO_5 if hours is None else hours
    )


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        # inside working hours: plain minutes
        (
            dt.datetime(2026, 3, 4, 10, 0, tzinfo=LONDON),
            5,
            dt.datetime(2026, 3, 4, 10, 5, tzinfo=LONDON),
        ),
        # Friday 22:00 → Monday 09:05
        (
            dt.datetime(2026, 3, 6, 22, 0, tzinfo=LONDON),
            5,
            dt.datetime(2026, 3, 9, 9, 5, tzinfo=LONDON),
        ),
        # Saturday noon → Monday 09:05
        (
            dt.datetime(2026, 3, 7, 12, 0, tzinfo=LONDON),
            5,
            dt.datetime(2026, 3, 9, 9, 5, tzinfo=LONDON),
        ),
        # early morning → the same day's opening + 5
        (
            dt.datetime(2026, 3, 4, 6, 30, tzinfo=LONDON),
            5,
            dt.datetime(2026, 3, 4, 9, 5, tzinfo=LONDON),
        ),
        # 16:58 Tuesday: 2 minutes today, 3 tomorrow
        (
            dt.datetime(2026, 3, 3, 16, 58, tzinfo=LONDON),
            5,
            dt.datetime(2026, 3, 4, 9, 3, tzinfo=LONDON),
        ),
        # an 8-hour SLA spans a whole working day
        (
            dt.datetime(2026, 3, 4, 13, 0, tzinfo=LONDON),
            480,
            dt.datetime(2026, 3, 5, 13, 0, tzinfo=LONDON),
        ),
        # across the spring clock change (last Sunday of March): wall-clock 09:05 Monday
        (
            dt.datetime(2026, 3, 27, 18, 0, tzinfo=LONDON),
            5,
            dt.datetime(2026, 3, 30, 9, 5, tzinfo=LONDON),
        ),
    ],
)
def test_deadline_counts_working_minutes_in_the_organizations_time_zone(start, minutes, expected):
    assert due(start, minutes) == expected


def test_the_organizations_time_zone_decides_what_night_is():
    # 22:00 UTC on a Thursday is 23:00 in Berlin: closed there, next morning 09:05 Berlin time.
    start = dt.datetime(2026, 3, 5, 22, 0, tzinfo=UTC)
    assert due(start, tz="Europe/Berlin") == dt.datetime(2026, 3, 6, 9, 5, tzinfo=BERLIN)
    # In New York it is 17:00 — closing time — so Friday 09:05 New York time.
    new_york = zoneinfo.ZoneInfo("America/New_York")
    assert due(start, tz="America/New_York") == dt.datetime(2026, 3, 6, 9, 5, tzinfo=new_york)


def test_no_working_hours_means_round_the_clock():
    start = dt.datetime(2026, 3, 7, 3, 0, tzinfo=UTC)
    assert due(start, hours={}) == start + dt.timedelta(minutes=5)


def test_a_captured_lead_gets_its_deadline_from_the_organization_and_source(capture, org):
    org.time_zone = "Europe/London"
    org.save()
    LeadSource.objects.create(slug="partners", name="Partners", sla_minutes=30)
    friday_night = dt.datetime(2026, 3, 6, 22, 0, tzinfo=UTC)
    with time_machine.travel(friday_night, tick=False):
        five = capture(email="a@example.com").lead
        thirty = capture(email="b@example.com", source="partners").lead
    assert five.sla_due_at == dt.datetime(2026, 3, 9, 9, 5, tzinfo=LONDON)
    assert thirty.sla_due_at == dt.datetime(2026, 3, 9, 9, 30, tzinfo=LONDON)
    assert Task.objects.get(source=five.task_source).due_at == five.sla_due_at


@pytest.fixture
def overdue_lead(capture, users):
    monday = dt.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    source = LeadSource.objects.create(slug="ads", name="Ads", default_owner=users[Role.SALES])
    with time_machine.travel(monday, tick=False):
        lead = capture(first_name="Ada", email="ada@example.com", source=source.slug).lead
    return lead


def test_the_sweep_breaches_an_overdue_lead_exactly_once_and_tells_owner_and_manager(
    overdue_lead, users, run_jobs, smtp_server
):
    before = dt.datetime(2026, 3, 2, 10, 4, tzinfo=UTC)
    after = dt.datetime(2026, 3, 2, 10, 6, tzinfo=UTC)
    assert sla.breach_overdue(now=before) == 0
    # when: the sweep runs, then runs again (next minute, another worker …)
    assert sla.breach_overdue(now=after) == 1
    assert sla.breach_overdue(now=after + dt.timedelta(minutes=1)) == 0
    # then
    overdue_lead.refresh_from_db()
    assert overdue_lead.sla_breached_at == after
    [event] = DomainEvent.objects.filter(name="lead.sla_breached")
    assert event.subject_id == str(overdue_lead.pk)
    assert event.payload["overdue_seconds"] == 60
    assert AuditEntry.objects.filter(action="lead.sla_breached").count() == 1
    sam, olivia = users[Role.SALES], users[Role.OWNER]
    run_jobs()
    recipients = sorted(m["envelope"].rcpt_tos[0] for m in smtp_server.messages)
    assert recipients == sorted(["ada@example.com", sam.email, olivia.email])  # ack + 2 alerts
    alert = next(m for m in smtp_server.messages if m["envelope"].rcpt_tos == [sam.email])
    assert alert["message"]["Subject"] == "First response overdue: Ada"
    assert f"/leads/{overdue_lead.pk}/" in alert["message"].get_content()


def test_an_answered_or_closed_lead_is_never_breached(capture, overdue_lead, actor):
    sla.record_first_response(actor, overdue_lead, at=dt.datetime(2026, 3, 2, 10, 3, tzinfo=UTC))
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False):
        rejected = capture(email="spam@example.com").lead
    services.reject_lead(actor, rejected, reason="spam")
    assert sla.breach_overdue(now=dt.datetime(2026, 3, 3, 12, 0, tzinfo=UTC)) == 0


def test_the_sweep_is_a_periodic_job_every_minute(overdue_lead, run_jobs):
    assert scheduler.registered()["intake.sla_sweep"].every == dt.timedelta(minutes=1)
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 30, tzinfo=UTC), tick=False):
        assert "intake.sla_sweep" in scheduler.tick()
        run_jobs()
    overdue_lead.refresh_from_db()
    assert overdue_lead.sla_breached_at is not None
    assert sla_sweep.call() == 0  # nothing left to do


def test_an_outgoing_call_logged_on_the_contact_records_the_first_response(
    overdue_lead, users, run_jobs
):
    # given: the owner calls the person from the CRM's contact page (CRM knows no leads)
    sam = Actor(user=users[Role.SALES], channel="ui")
    call_time = dt.datetime(2026, 3, 2, 10, 3, tzinfo=UTC)
    crm.log_activity(
        sam,
        kind=Activity.Kind.CALL,
        contact=overdue_lead.contact,
        subject="Intro call",
        direction="out",
        occurred_at=call_time,
    )
    # when: intake's reaction to activity.logged runs
    run_jobs()
    # then
    overdue_lead.refresh_from_db()
    assert overdue_lead.first_response_at == call_time
    assert overdue_lead.status == Lead.Status.CONTACTED
    [event] = DomainEvent.objects.filter(name="lead.first_response_sent")
    assert event.payload["response_seconds"] == 180 and event.payload["within_sla"] is True
    assert event.payload["via"] == "call"
    assert Task.objects.get(source=overdue_lead.task_source).done_at is not None
    # a second call changes nothing
    crm.log_activity(sam, kind="call", contact=overdue_lead.contact, body="again", direction="out")
    run_jobs()
    assert DomainEvent.objects.filter(name="lead.first_response_sent").count() == 1


@pytest.mark.parametrize(
    ("kind", "direction", "by_person"),
    [("call", "in", True), ("note", "out", True), ("email", "out", False)],
    ids=["incoming call", "a note", "no person (automation without author)"],
)
def test_what_is_not_a_first_response(overdue_lead, users, run_jobs, kind, direction, by_person):
    who = Actor(user=users[Role.SALES] if by_person else None, channel="worker")
    crm.log_activity(who, kind=kind, contact=overdue_lead.contact, body="x", direction=direction)
    run_jobs()
    overdue_lead.refresh_from_db()
    assert overdue_lead.first_response_at is None


def test_sending_an_email_from_the_lead_is_its_first_response(overdue_lead, users, run_jobs):
    sam = Actor(user=users[Role.SALES], channel="ui")
    with time_machine.travel(dt.datetime(2026, 3, 2, 10, 20, tzinfo=UTC), tick=False):
        message = services.send_lead_email(sam, overdue_lead, template_key="lead-acknowledgement")
    overdue_lead.refresh_from_db()
    assert overdue_lead.first_response_at == dt.datetime(2026, 3, 2, 10, 20, tzinfo=UTC)
    assert message.status == OutboundMessage.Status.QUEUED
    event = DomainEvent.objects.get(name="lead.first_response_sent")
    assert event.payload["within_sla"] is False and event.payload["via"] == "email"
    assert overdue_lead.contact.activities.filter(kind="email", direction="out").count() == 1
