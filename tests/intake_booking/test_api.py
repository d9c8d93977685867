"""API: meetings (list, filter, cancel) and a lead's assignment history, checked against OpenAPI."""

from __future__ import annotations

import pytest
import time_machine

from tests.intake.conftest import CheckedClient
from tests.intake_booking.conftest import at
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.booking import services
from throughline.intake.booking.models import Meeting


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(at(2026, 3, 26, 12, 0), tick=False):
        yield


@pytest.fixture
def api(users):
    """``api("sales")``: a client with a real token, every response checked against OpenAPI."""
    from throughline.core.services import create_api_token

    clients = {}

    def client(role: str = "owner") -> CheckedClient:
        if role not in clients:
            _token, raw = create_api_token(Actor.cli(), users[role], name=f"{role} token")
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return clients[role]

    return client


@pytest.fixture
def booked(booking_page):
    return services.book_meeting(
        Actor(user=None, channel=Channel.PORTAL),
        booking_page,
        starts_at=at(2026, 3, 30, 7, 0),
        name="Ada Lovelace",
        email="ada@example.org",
        time_zone="Europe/London",
    )


def test_meetings_are_listed_filtered_and_cancelled(api, booked, host):
    listing = api("viewer").get("/api/v1/bookings?host=me")
    assert listing.status_code == 200 and listing.json()["results"] == []
    body = api("sales").get("/api/v1/bookings?host=me").json()
    [meeting] = body["results"]
    assert meeting["starts_at"] == "2026-03-30T07:00:00Z"
    assert meeting["host"] == host.email and meeting["lead_id"] == str(booked.lead.pk)
    assert api("sales").get(f"/api/v1/bookings?lead={booked.lead.pk}").json()["results"]
    # a viewer may not cancel; sales may
    path = f"/api/v1/bookings/{booked.meeting.pk}/cancel"
    assert api("viewer").post(path, {"reason": "x"}, format="json").status_code == 403
    response = api("sales").post(path, {"reason": "Double-booked"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["sequence"] == 1
    assert Meeting.objects.get().cancel_reason == "Double-booked"
    # cancelling twice is refused with the reason
    again = api("sales").post(path, {}, format="json")
    assert again.status_code == 400
    assert "already cancelled" in again.content.decode()


def test_a_leads_assignment_history(api, booked, host):
    body = api("owner").get(f"/api/v1/lead-assignments?lead={booked.lead.pk}").json()
    [entry] = body["results"]
    assert entry["kind"] == "capture" and entry["owner"] == host.email
    assert entry["reason"] == "named by the channel"
    missing = api("owner").get("/api/v1/lead-assignments?lead=00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
