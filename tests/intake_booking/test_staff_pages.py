"""Staff pages: one's availability, time off, the calendar feed link, meetings."""

from __future__ import annotations

import re

import pytest
import time_machine

from tests.intake_booking.conftest import at
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.booking import services
from throughline.intake.booking.models import Availability, Meeting, TimeOff

NOW = at(2026, 3, 26, 12, 0)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def availability_form(**extra):
    data = {
        "slug": "sam-sells",
        "title": "Discovery call",
        "intro": "Half an hour to see if we fit.",
        "time_zone": "Europe/Lisbon",
        "location": "https://video.example/sam",
        "meeting_minutes": 45,
        "slot_step_minutes": 15,
        "buffer_before_minutes": 5,
        "buffer_after_minutes": 10,
        "min_notice_minutes": 120,
        "max_per_day": 4,
        "horizon_days": 21,
        "is_active": "on",
        "d1_start": "08:30",
        "d1_end": "12:30",
        "d3_start": "14:00",
        "d3_end": "18:00",
    }
    data.update(extra)
    return data


def test_a_seller_sets_up_their_page(client_as, host):
    client = client_as("sales")
    page = client.get("/intake/booking/")
    assert page.status_code == 200
    assert "/b/sam" in page.content.decode()
    response = client.post("/intake/booking/", availability_form())
    assert response.status_code == 302
    saved = Availability.objects.get(user=host)
    assert saved.slug == "sam-sells" and saved.time_zone == "Europe/Lisbon"
    assert saved.weekly_hours == {"1": ["08:30", "12:30"], "3": ["14:00", "18:00"]}
    assert (saved.meeting_minutes, saved.max_per_day, saved.buffer_after_minutes) == (45, 4, 10)


def test_bad_hours_are_refused_with_the_reason(client_as, host):
    client = client_as("sales")
    response = client.post("/intake/booking/", availability_form(d1_start="25:00"))
    assert response.status_code == 400
    assert "not a span of the day" in response.content.decode()
    response = client.post("/intake/booking/", availability_form(meeting_minutes=0))
    assert response.status_code == 400
    assert "from 5 to 480" in response.content.decode()
    assert Availability.objects.get(user=host).slug == "sam"  # unchanged


def test_time_off_and_the_feed_link(client_as, host, booking_page):
    client = client_as("sales")
    response = client.post(
        "/intake/booking/time-off/",
        {"starts_at": "2026-04-06T00:00", "ends_at": "2026-04-10T00:00", "note": "Easter"},
    )
    assert response.status_code == 302
    item = TimeOff.objects.get(user=host)
    assert item.starts_at == at(2026, 4, 5, 22, 0)  # midnight in Berlin (CEST)
    response = client.post(
        "/intake/booking/time-off/", {"starts_at": "2026-04-10T00:00", "ends_at": "2026-04-06"}
    )
    assert TimeOff.objects.count() == 1
    # the feed URL is shown once, after creating it
    client.post("/intake/booking/feed/")
    html = client.get("/intake/booking/").content.decode()
    feed = re.search(r"<code>(http[^<]+\.ics)</code>", html)[1]
    assert client.get(feed.split("8000", 1)[-1]).status_code == 200
    assert "<code>" not in client.get("/intake/booking/").content.decode()


def test_staff_see_and_cancel_meetings(client_as, booking_page, host):
    booked = services.book_meeting(
        Actor(user=None, channel=Channel.PORTAL),
        booking_page,
        starts_at=at(2026, 3, 30, 7, 0),
        name="Ada Lovelace",
        email="ada@example.org",
    )
    html = client_as("viewer").get("/intake/meetings/").content.decode()
    assert "Ada Lovelace" in html and "Cancel" not in html
    assert (
        client_as("viewer").post(f"/intake/meetings/{booked.meeting.pk}/cancel/").status_code == 403
    )
    response = client_as("sales").post(f"/intake/meetings/{booked.meeting.pk}/cancel/")
    assert response.status_code == 302
    assert Meeting.objects.get().status == "cancelled"
