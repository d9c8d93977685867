"""Booking fixtures: a host in Berlin with a booking page, stored files in a temp dir."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from throughline.core.roles import Role
from throughline.intake.booking import services

UTC = dt.UTC
WEEKDAYS_9_TO_12 = {str(d): ["09:00", "12:00"] for d in range(1, 6)}


@pytest.fixture(autouse=True)
def _fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def host(users):
    return users[Role.SALES]


@pytest.fixture
def booking_page(actor, host):
    """Sam's page /b/sam: Berlin, weekdays 09:00-12:00, 30-minute meetings, no notice."""
    return services.save_availability(
        actor,
        host,
        slug="sam",
        time_zone="Europe/Berlin",
        weekly_hours=WEEKDAYS_9_TO_12,
        meeting_minutes=30,
        slot_step_minutes=30,
        min_notice_minutes=0,
        max_per_day=0,
        horizon_days=14,
    )


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)
