"""Free slots: working hours in the host's zone across DST, buffers, notice, limits, busy time."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.intake_booking.conftest import at
from throughline.crm import services as crm
from throughline.intake.booking import services
from throughline.intake.booking.availability import free_slots, group_by_local_day


def starts(availability, now, day: dt.date | None = None) -> list[dt.datetime]:
    slots = free_slots(availability, now=now)
    return [s.starts_at for s in slots if day is None or s.starts_at.date() == day]


def test_weekday_slots_in_berlin_move_in_utc_when_the_clocks_go_forward(booking_page):
    # Clocks go forward on Sunday 29 March 2026 (the last Sunday of March).
    now = at(2026, 3, 26, 5, 0)  # Thursday
    friday = starts(booking_page, now, dt.date(2026, 3, 27))
    monday = starts(booking_page, now, dt.date(2026, 3, 30))
    assert friday == [at(2026, 3, 27, 8, 0), at(2026, 3, 27, 8, 30), at(2026, 3, 27, 9, 0)] + [
        at(2026, 3, 27, 9, 30),
        at(2026, 3, 27, 10, 0),
        at(2026, 3, 27, 10, 30),
    ]  # 09:00-11:30 CET = UTC+1
    assert monday[0] == at(2026, 3, 30, 7, 0)  # 09:00 CEST = UTC+2
    assert monday[-1] == at(2026, 3, 30, 9, 30)  # the last start, 11:30, ends at 12:00
    assert not starts(booking_page, now, dt.date(2026, 3, 28))  # Saturday


def test_and_back_when_they_go_back_on_the_last_sunday_of_october(booking_page):
    now = at(2026, 10, 22, 5, 0)
    assert starts(booking_page, now, dt.date(2026, 10, 23))[0] == at(2026, 10, 23, 7, 0)  # CEST
    assert starts(booking_page, now, dt.date(2026, 10, 26))[0] == at(2026, 10, 26, 8, 0)  # CET


def test_a_night_shift_skips_the_missing_hour_and_offers_the_repeated_one_once(actor, host):
    night = services.save_availability(
        actor,
        host,
        slug="night",
        time_zone="Europe/Berlin",
        weekly_hours={"7": ["01:00", "04:00"]},
        min_notice_minutes=0,
        max_per_day=0,
    )
    # 29 March: 02:00-02:59 does not exist in Berlin
    spring = starts(night, at(2026, 3, 28, 12, 0))[:4]
    assert spring == [
        at(2026, 3, 29, 0, 0),  # 01:00 CET
        at(2026, 3, 29, 0, 30),  # 01:30 CET
        at(2026, 3, 29, 1, 0),  # 03:00 CEST
        at(2026, 3, 29, 1, 30),  # 03:30 CEST
    ]
    # 25 October: 02:00-02:59 happens twice; each wall-clock time is offered once
    autumn = starts(night, at(2026, 10, 24, 12, 0))
    assert autumn[:6] == [
        at(2026, 10, 24, 23, 0),  # 01:00 CEST
        at(2026, 10, 24, 23, 30),
        at(2026, 10, 25, 0, 0),  # 02:00 CEST (the first 02:00)
        at(2026, 10, 25, 0, 30),
        at(2026, 10, 25, 2, 0),  # 03:00 CET
        at(2026, 10, 25, 2, 30),
    ]
    assert len(set(autumn)) == len(autumn)


def test_new_york_changes_on_the_second_sunday_of_march(actor, host):
    ny = services.save_availability(
        actor,
        host,
        slug="ny",
        time_zone="America/New_York",
        weekly_hours={str(d): ["09:00", "10:00"] for d in range(1, 6)},
        min_notice_minutes=0,
        max_per_day=0,
    )
    now = at(2026, 3, 5, 12, 0)
    assert starts(ny, now, dt.date(2026, 3, 6)) == [at(2026, 3, 6, 14, 0), at(2026, 3, 6, 14, 30)]
    assert starts(ny, now, dt.date(2026, 3, 9)) == [at(2026, 3, 9, 13, 0), at(2026, 3, 9, 13, 30)]


def test_the_visitor_sees_the_slots_in_their_own_time_zone(booking_page):
    slots = [s for s in free_slots(booking_page, now=at(2026, 3, 29, 12, 0))][:2]
    [day] = group_by_local_day(slots, "America/New_York")
    # Monday 09:00 Berlin (CEST) is 03:00 in New York (EDT)
    assert day["date"] == dt.date(2026, 3, 30)
    assert [s["label"] for s in day["slots"]] == ["03:00", "03:30"]
    assert day["slots"][0]["key"] == "2026-03-30T07:00:00Z"


def test_minimum_notice_and_horizon(actor, host, booking_page):
    services.save_availability(actor, host, min_notice_minutes=24 * 60, horizon_days=3)
    booking_page.refresh_from_db()
    now = at(2026, 3, 2, 8, 0)  # Monday 09:00 Berlin
    slots = starts(booking_page, now)
    assert slots[0] == at(2026, 3, 3, 8, 0)  # not before Tuesday 09:00
    assert slots[-1] < now + dt.timedelta(days=3)


@pytest.fixture
def booked_at(actor, booking_page):
    def book(start, email="ada@example.org"):
        return services.book_meeting(
            actor, booking_page, starts_at=start, name="Ada Lovelace", email=email
        ).meeting

    return book


def test_meetings_buffers_time_off_and_logged_meetings_block_slots(
    actor, host, booking_page, booked_at, time_machine
):
    time_machine.move_to(at(2026, 3, 1, 12, 0))
    services.save_availability(actor, host, buffer_before_minutes=15, buffer_after_minutes=15)
    booking_page.refresh_from_db()
    monday = dt.date(2026, 3, 2)
    now = at(2026, 3, 1, 12, 0)
    assert len(starts(booking_page, now, monday)) == 6
    booked_at(at(2026, 3, 2, 9, 0))  # 10:00 Berlin
    # 09:30 (ends 10:00 + 15 min buffer) and 10:30 (starts after 15 min buffer) are blocked too
    assert starts(booking_page, now, monday) == [
        at(2026, 3, 2, 8, 0),
        at(2026, 3, 2, 10, 0),
        at(2026, 3, 2, 10, 30),
    ]
    # a meeting logged in the CRM by the host blocks its time
    contact = crm.create_contact(actor, first_name="Grace", email="grace@example.org")
    crm.log_activity(
        actor.__class__(user=host, channel="ui"),
        kind="meeting",
        contact=contact,
        subject="Site visit",
        occurred_at=at(2026, 3, 3, 8, 0),
        duration_seconds=3600,
    )
    assert at(2026, 3, 3, 8, 0) not in starts(booking_page, now)
    assert at(2026, 3, 3, 9, 30) in starts(
        booking_page, now
    )  # 10:30 Berlin: after the 15 min buffer
    # time off takes whole days out
    services.add_time_off(
        actor, host, starts_at=at(2026, 3, 4, 0, 0), ends_at=at(2026, 3, 5, 0, 0), note="Away"
    )
    assert not starts(booking_page, now, dt.date(2026, 3, 4))
    # out of office: no slots at all
    host.out_of_office = True
    host.save()
    booking_page.user.refresh_from_db()
    assert free_slots(booking_page, now=now) == []


def test_a_daily_maximum_closes_the_day(actor, host, booking_page, booked_at, time_machine):
    time_machine.move_to(at(2026, 3, 1, 12, 0))
    services.save_availability(actor, host, max_per_day=2)
    booking_page.refresh_from_db()
    monday = dt.date(2026, 3, 2)
    booked_at(at(2026, 3, 2, 8, 0), "a@example.org")
    assert starts(booking_page, at(2026, 3, 1, 12, 0), monday)
    booked_at(at(2026, 3, 2, 10, 0), "b@example.org")
    assert not starts(booking_page, at(2026, 3, 1, 12, 0), monday)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"weekly_hours": {"1": ["17:00", "09:00"]}}, "weekly_hours"),
        ({"weekly_hours": {"9": ["09:00", "17:00"]}}, "weekly_hours"),
        ({"meeting_minutes": 0}, "meeting_minutes"),
        ({"slug": "Not A Slug"}, "slug"),
    ],
)
def test_bad_availability_is_refused(actor, host, booking_page, data, field):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        services.save_availability(actor, host, **data)
    assert field in caught.value.message_dict
