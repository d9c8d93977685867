"""Booking end to end: the meeting, the lead, the timeline, invitations with .ics files to a
real SMTP server, reschedule and cancel links, reminders, and the slot taken meanwhile."""

from __future__ import annotations

import re

import icalendar
import pytest
import time_machine

from tests.intake_booking.conftest import at
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, Channel
from throughline.crm.models import Activity
from throughline.crm.timeline import timeline_for
from throughline.intake.booking import services
from throughline.intake.booking.models import Meeting
from throughline.intake.models import Lead

NOW = at(2026, 3, 26, 12, 0)  # Thursday; the clocks go forward on Sunday
MONDAY_9_BERLIN = at(2026, 3, 30, 7, 0)  # 09:00 CEST


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def visitor():
    return Actor(user=None, channel=Channel.PORTAL, ip="198.51.100.4")


def ics_of(message) -> icalendar.Calendar:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_content())


def subject(message) -> str:
    """The subject as one line (long headers are folded on the wire)."""
    return " ".join(str(message["Subject"]).split())


def book(
    visitor, booking_page, start=MONDAY_9_BERLIN, email="ada@example.org", tz="America/New_York"
):
    return services.book_meeting(
        visitor,
        booking_page,
        starts_at=start,
        name="ada lovelace",
        email=email,
        message="Let's talk about engines.",
        time_zone=tz,
    )


def test_booking_makes_a_meeting_on_a_new_lead_and_mails_both_sides_an_invitation(
    visitor, booking_page, host, run_jobs, smtp_server
):
    booked = book(visitor, booking_page)
    meeting = booked.meeting
    assert (meeting.starts_at, meeting.ends_at) == (MONDAY_9_BERLIN, at(2026, 3, 30, 7, 30))
    # a new lead from the booking booking_page, owned by the host, without an acknowledgement
    lead = Lead.objects.get()
    assert (lead.source.slug, lead.owner, lead.first_name) == ("booking", host, "Ada")
    assert lead.first_response_at == NOW  # the meeting is its next step: no SLA breach
    assert meeting.lead == lead and meeting.contact == lead.contact
    # the meeting is on the contact's timeline
    activity = Activity.objects.get(kind="meeting")
    assert activity.occurred_at == MONDAY_9_BERLIN and activity.contact == lead.contact
    assert any(e.kind == "meeting" for e in timeline_for(lead.contact))
    assert AuditEntry.objects.filter(action="meeting.booked").count() == 1

    run_jobs()
    received = {m["envelope"].rcpt_tos[0]: m["message"] for m in smtp_server.messages}
    assert set(received) == {"ada@example.org", host.email}
    to_ada, to_host = received["ada@example.org"], received[host.email]
    # each side reads the time in their own zone: 03:00 in New York, 09:00 in Berlin
    assert "03:00 (America/New_York, UTC-0400)" in subject(to_ada)
    assert "09:00 (Europe/Berlin, UTC+0200)" in subject(to_host)
    assert services.manage_url(booked.manage_token) in to_ada.get_body(("plain",)).get_content()
    for message in (to_ada, to_host):
        calendar = ics_of(message)
        assert calendar["method"] == "REQUEST"
        [event] = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == MONDAY_9_BERLIN  # UTC, after the DST change
        assert event.decoded("dtend") == at(2026, 3, 30, 7, 30)
        assert event["uid"] == meeting.ical_uid
        assert int(event["sequence"]) == 0
        assert str(event["organizer"]) == f"mailto:{host.email}"
        assert str(event["attendee"]) == "mailto:ada@example.org"


def test_a_slot_booked_meanwhile_is_refused_with_fresh_slots(visitor, booking_page):
    book(visitor, booking_page)
    with pytest.raises(services.SlotTaken) as caught:
        book(visitor, booking_page, email="grace@example.org")
    fresh = [s.starts_at for s in caught.value.fresh]
    assert MONDAY_9_BERLIN not in fresh
    assert at(2026, 3, 30, 7, 30) in fresh
    assert Meeting.objects.count() == 1
    assert Lead.objects.count() == 1  # nothing of the refused booking remains


def test_a_known_contact_books_on_their_open_lead(visitor, booking_page, host):
    first = book(visitor, booking_page).meeting
    second = book(visitor, booking_page, start=at(2026, 3, 31, 7, 0)).meeting
    assert second.lead == first.lead
    assert Lead.objects.count() == 1
    # a lead from another channel keeps waiting for a person's answer
    from throughline.intake.capture import LeadInput, capture_lead

    other = capture_lead(visitor, LeadInput(email="grace@example.org", acknowledge=False)).lead
    third = book(visitor, booking_page, start=at(2026, 4, 1, 7, 0), email="grace@example.org")
    assert third.meeting.lead == other
    other.refresh_from_db()
    assert other.first_response_at is None


def test_reschedule_and_cancel_through_the_attendees_link(
    visitor, booking_page, host, client, run_jobs, smtp_server
):
    booked = book(visitor, booking_page)
    run_jobs()
    smtp_server.messages.clear()
    link = f"/b/m/{booked.manage_token}"
    manage = client.get(link)
    assert manage.status_code == 200
    assert "2026-03-30T07:30:00Z" in manage.content.decode()  # other slots offered

    # reschedule to Tuesday 10:00 Berlin
    response = client.post(link, {"action": "reschedule", "slot": "2026-03-31T08:00:00Z"})
    assert response.status_code == 200
    meeting = Meeting.objects.get()
    assert (meeting.starts_at, meeting.sequence) == (at(2026, 3, 31, 8, 0), 1)
    assert Activity.objects.get(kind="meeting").occurred_at == at(2026, 3, 31, 8, 0)
    assert client.get(link).status_code == 404  # the old link is revoked
    run_jobs()
    moved = {m["envelope"].rcpt_tos[0]: m["message"] for m in smtp_server.messages}
    assert subject(moved["ada@example.org"]).startswith("Moved:")
    [event] = ics_of(moved[host.email]).walk("VEVENT")
    assert event.decoded("dtstart") == at(2026, 3, 31, 8, 0) and int(event["sequence"]) == 1
    new_link = re.search(r'href="(https?://[^"]+/b/m/[^"]+)"', response.content.decode())[1]

    # cancel with the new link
    smtp_server.messages.clear()
    path = new_link.split("://", 1)[1].split("/", 1)[1]
    response = client.post(f"/{path}", {"action": "cancel", "reason": "Found the answer"})
    assert response.status_code == 200
    meeting.refresh_from_db()
    assert meeting.status == "cancelled" and meeting.cancel_reason == "Found the answer"
    run_jobs()
    cancelled = {m["envelope"].rcpt_tos[0]: m["message"] for m in smtp_server.messages}
    calendar = ics_of(cancelled["ada@example.org"])
    assert calendar["method"] == "CANCEL"
    [event] = calendar.walk("VEVENT")
    assert event["status"] == "CANCELLED" and int(event["sequence"]) == 2
    # the slot is free again
    assert at(2026, 3, 31, 8, 0) in [s.starts_at for s in services.free_slots(booking_page)]


def test_reminders_go_out_a_day_and_an_hour_before_and_follow_a_reschedule(
    visitor, booking_page, host, run_jobs, smtp_server, clock
):
    booked = book(visitor, booking_page)  # Monday 07:00 UTC
    run_jobs()
    smtp_server.messages.clear()
    services.reschedule_meeting(visitor, booked.meeting, starts_at=at(2026, 3, 31, 7, 0))
    run_jobs()
    smtp_server.messages.clear()
    # a day before the *old* time nothing is due; a day before the new time both hear
    clock.move_to(at(2026, 3, 29, 7, 1))
    run_jobs()
    assert smtp_server.messages == []
    clock.move_to(at(2026, 3, 30, 7, 1))
    run_jobs()
    subjects = sorted(subject(m["message"]) for m in smtp_server.messages)
    assert len(subjects) == 2 and all(s.startswith("Reminder:") for s in subjects)
    assert all("tomorrow" in s for s in subjects)
    clock.move_to(at(2026, 3, 31, 6, 1))
    run_jobs()
    assert sum("in one hour" in subject(m["message"]) for m in smtp_server.messages) == 2


def test_the_calendar_feed_lists_meetings_and_tasks_behind_a_secret(
    visitor, actor, booking_page, host, client
):
    from throughline.crm import services as crm

    book(visitor, booking_page)
    crm.create_task(actor, title="Send the quote", owner=host, due_at=at(2026, 3, 27, 14, 0))
    raw = services.issue_feed_token(actor, host)
    response = client.get(f"/b/feed/{raw}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    summaries = {str(e["summary"]): e.decoded("dtstart") for e in calendar.walk("VEVENT")}
    assert summaries["Task: Send the quote"] == at(2026, 3, 27, 14, 0)
    assert any(s.startswith("Introductory call") for s in summaries)
    assert client.get("/b/feed/not-the-right-secret-at-all-0000.ics").status_code == 404
    # a new link revokes the old one
    services.issue_feed_token(actor, host)
    assert client.get(f"/b/feed/{raw}.ics").status_code == 404


def test_booking_link_for_a_user_without_a_page_creates_one(users):
    from throughline.core.roles import Role

    link = services.booking_link_for(users[Role.ADMIN])
    assert link.endswith("/b/adam")
    assert services.booking_link_for(users[Role.ADMIN]) == link


def test_invalid_visitor_details_change_nothing(visitor, booking_page):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.book_meeting(
            visitor, booking_page, starts_at=MONDAY_9_BERLIN, name=" ", email="not-an-address"
        )
    assert set(caught.value.message_dict) == {"name", "email"}
    assert not Meeting.objects.exists() and not Lead.objects.exists()


def test_invitations_either_side_of_the_dst_change_keep_nine_oclock_in_berlin(
    visitor, booking_page
):
    from throughline.intake.booking import ics

    berlin = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    friday = book(visitor, booking_page, start=at(2026, 3, 27, 8, 0)).meeting  # CET
    monday = book(visitor, booking_page, start=MONDAY_9_BERLIN).meeting  # CEST
    for meeting, utc_start in ((friday, at(2026, 3, 27, 8, 0)), (monday, MONDAY_9_BERLIN)):
        calendar = icalendar.Calendar.from_ical(ics.invitation(meeting))
        [event] = calendar.walk("VEVENT")
        assert event.decoded("dtstart") == utc_start
        assert event.decoded("dtstart").astimezone(berlin).strftime("%H:%M") == "09:00"
        written = f"DTSTART:{utc_start:%Y%m%dT%H%M%S}Z".encode()  # in UTC
        assert written in ics.invitation(meeting)
