"""Two visitors book the same slot at the same instant: one wins, the other gets fresh slots.

Real threads with their own connections and transactions, released together by a barrier
(PostgreSQL; SQLite has one writer at a time, so the race exists only there).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.intake.test_concurrency_postgres import run_together
from tests.intake_booking.conftest import WEEKDAYS_9_TO_12, at
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.booking import services
from throughline.intake.booking.models import Meeting

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SLOT = at(2026, 3, 30, 7, 0)


@pytest.mark.parametrize("visitors", [2, 8])
def test_simultaneous_bookings_of_one_slot_make_one_meeting(actor, host, visitors):
    from django.db import connection

    assert connection.vendor == "postgresql"
    booking_page = services.save_availability(
        actor,
        host,
        slug="sam",
        time_zone="Europe/Berlin",
        weekly_hours=WEEKDAYS_9_TO_12,
        min_notice_minutes=0,
        max_per_day=0,
    )
    visitor = Actor(user=None, channel=Channel.PORTAL)

    def attempt(n: int):
        return lambda: services.book_meeting(
            visitor,
            booking_page,
            starts_at=SLOT,
            name=f"Visitor {n}",
            email=f"visitor{n}@example.org",
        )

    # The clock is frozen for every thread (time-machine patches the process).
    with time_machine.travel(at(2026, 3, 26, 12, 0), tick=False):
        results = run_together([attempt(n) for n in range(visitors)])

    won = [r for r in results if isinstance(r, services.Booked)]
    refused = [r for r in results if isinstance(r, services.SlotTaken)]
    assert len(won) == 1, results
    assert len(refused) == visitors - 1, results
    for refusal in refused:
        fresh = [s.starts_at for s in refusal.fresh]
        assert SLOT not in fresh
        assert SLOT + dt.timedelta(minutes=30) in fresh
    assert Meeting.objects.filter(starts_at=SLOT, status="booked").count() == 1
