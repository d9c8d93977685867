"""Routing fixtures: sales people, a clock on a working Wednesday, capture through the service."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine

from throughline.core.actor import Actor
from throughline.core.models import Channel, User
from throughline.core.roles import Role
from throughline.intake.capture import LeadInput, capture_lead

WEDNESDAY_10_UTC = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def working_clock(org):
    """Wednesday 4 March 2026, 10:00 in London: everybody's working hours."""
    org.time_zone = "Europe/London"
    org.working_hours = {str(d): ["09:00", "17:00"] for d in range(1, 6)}
    org.save()
    with time_machine.travel(WEDNESDAY_10_UTC, tick=False):
        yield WEDNESDAY_10_UTC


@pytest.fixture
def sellers(users) -> list[User]:
    """Four sales people: Sam (the persona) and three more."""
    extra = [
        User.objects.create_user(f"{name}@example.com", role=Role.SALES, full_name=name.title())
        for name in ("ana", "ben", "cleo")
    ]
    return [users[Role.SALES], *extra]


_numbers = itertools.count(1)


@pytest.fixture
def capture(org):
    actor = Actor(user=None, channel=Channel.API, ip="203.0.113.9")

    def run(**data):
        n = next(_numbers)
        data.setdefault("email", f"lead{n}@example.org")
        data.setdefault("first_name", f"Lead{n}")
        data.setdefault("channel", "api")
        data.setdefault("acknowledge", False)
        return capture_lead(actor, LeadInput(**data)).lead

    return run
