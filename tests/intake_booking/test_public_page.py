"""The public booking_page /b/<slug>: real slots in the visitor's zone, honeypot, limits, bad input."""

from __future__ import annotations

import pytest
import time_machine

from tests.intake_booking.conftest import at
from throughline.intake.booking.models import Meeting
from throughline.intake.models import Lead

NOW = at(2026, 3, 26, 12, 0)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def form(**extra):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "message": "Hello",
        "slot": "2026-03-30T07:00:00Z",
        "tz": "Asia/Tokyo",
    }
    data.update(extra)
    return data


def test_the_page_shows_free_slots_in_the_visitors_time_zone(client, booking_page):
    html = client.get("/b/sam?tz=Asia/Tokyo").content.decode()
    # Monday 09:00 Berlin (CEST, after the change) is 16:00 in Tokyo
    assert 'value="2026-03-30T07:00:00Z"> 16:00' in html
    assert '<option value="Asia/Tokyo" selected>' in html
    # without a zone: the host's (the booking_page's script then asks the browser)
    html = client.get("/b/sam").content.decode()
    assert 'value="2026-03-30T07:00:00Z"> 09:00' in html
    assert "intake_booking/tz.js" in html
    assert client.get("/b/nobody-here").status_code == 404


def test_booking_on_the_page(client, booking_page):
    response = client.post("/b/sam", form())
    assert response.status_code == 200
    html = response.content.decode()
    assert "You're booked" in html and "16:00 (Asia/Tokyo, UTC+0900)" in html
    meeting = Meeting.objects.get()
    assert meeting.attendee_time_zone == "Asia/Tokyo"
    # the same slot again: refused, with the slots still free
    response = client.post("/b/sam", form(email="grace@example.org"))
    assert response.status_code == 409
    html = response.content.decode()
    assert "just taken" in html
    assert 'value="2026-03-30T07:00:00Z"' not in html
    assert 'value="2026-03-30T07:30:00Z"' in html
    assert Meeting.objects.count() == 1


def test_a_filled_honeypot_books_nothing(client, booking_page):
    response = client.post("/b/sam", form(website="http://spam.example"))
    assert response.status_code == 200
    assert not Meeting.objects.exists() and not Lead.objects.exists()


def test_bad_input_is_refused_with_the_reason_and_changes_nothing(client, booking_page):
    response = client.post("/b/sam", form(email="nope"))
    assert response.status_code == 400
    assert "valid" in response.content.decode().lower()
    response = client.post("/b/sam", form(slot="tomorrow at noon"))
    assert response.status_code == 400
    assert "Choose a time." in response.content.decode()
    response = client.post("/b/sam", form(slot="2026-03-28T07:00:00Z"))  # a Saturday
    assert response.status_code == 409
    assert not Meeting.objects.exists() and not Lead.objects.exists()


def test_bookings_are_rate_limited_per_address(client, booking_page):
    codes = [
        client.post("/b/sam", form(email=f"p{n}@example.org", slot="x")).status_code
        for n in range(11)
    ]
    assert codes[:10] == [400] * 10
    assert codes[10] == 429


def test_the_script_is_our_own_small_file(client):
    from django.contrib.staticfiles import finders

    path = finders.find("intake_booking/tz.js")
    assert path and "Intl.DateTimeFormat" in open(path).read()
