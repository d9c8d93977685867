"""When a person is at work, away, or free for a meeting — with time zones and DST.

Wall-clock times are turned into instants with ``zoneinfo`` per day, so a 09:00 start is
07:00 UTC in Berlin on the Monday after the last Sunday of March and 08:00 UTC the week
before. On the night the clocks go forward a local time that does not exist (02:30 in
Berlin) is no slot at all; on the night they go back a repeated local time is offered once
(its first occurrence).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from throughline.core.models import Organization, User
from throughline.crm.models import Activity
from throughline.intake.booking.models import Availability, Meeting, TimeOff
from throughline.intake.sla import working_spans


@dataclass(frozen=True)
class Slot:
    starts_at: dt.datetime  # UTC
    ends_at: dt.datetime

    @property
    def key(self) -> str:
        """The slot's value in forms: its start in UTC, ISO 8601."""
        return self.starts_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_slot_key(value: str) -> dt.datetime | None:
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if timezone.is_naive(parsed):
        return None
    return parsed.astimezone(dt.UTC)


def zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def is_valid_zone(name: str) -> bool:
    return bool(name) and name in zoneinfo.available_timezones()


def local_instant(day: dt.date, minutes: int, tz: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The UTC instant of a wall-clock time on ``day``, or None if that time does not exist."""
    naive = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(minutes=minutes)
    aware = naive.replace(tzinfo=tz)  # fold=0: the first of two repeated times
    instant = aware.astimezone(dt.UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None  # skipped by a spring-forward change
    return instant


def availability_of(user: User) -> Availability | None:
    return Availability.objects.filter(user=user).first()


def hours_of(user: User) -> tuple[dict, str]:
    """The user's weekly hours and time zone; the organization's when they set none."""
    found = availability_of(user)
    if found is not None and found.weekly_hours:
        return found.weekly_hours, found.time_zone
    org = Organization.current()
    return org.working_hours, org.time_zone


def is_working(user: User, at: dt.datetime | None = None) -> bool:
    at = at or timezone.now()
    hours, tz_name = hours_of(user)
    spans = working_spans(hours)
    if not spans:
        return True  # no hours set: always
    local = at.astimezone(zone(tz_name))
    span = spans.get(local.isoweekday())
    minutes = local.hour * 60 + local.minute
    return span is not None and span[0] <= minutes < span[1]


def away_user_ids(users: list[User], at: dt.datetime | None = None) -> set:
    """Who of ``users`` is out of office now or has time off covering ``at``."""
    at = at or timezone.now()
    away = {u.pk for u in users if u.out_of_office or not u.is_active}
    away |= set(
        TimeOff.objects.filter(
            user__in=[u.pk for u in users], starts_at__lte=at, ends_at__gt=at
        ).values_list("user_id", flat=True)
    )
    return away


def is_away(user: User, at: dt.datetime | None = None) -> bool:
    return user.pk in away_user_ids([user], at)


# --- Free slots ------------------------------------------------------------------------------


def busy_intervals(
    user: User, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Booked meetings, meetings logged in the CRM by the user, and time off."""
    busy = list(
        Meeting.objects.filter(
            host=user, status=Meeting.Status.BOOKED, starts_at__lt=end, ends_at__gt=start
        ).values_list("starts_at", "ends_at")
    )
    linked = Meeting.objects.filter(host=user, activity__isnull=False).values("activity_id")
    logged = (
        Activity.objects.filter(
            author=user,
            kind=Activity.Kind.MEETING,
            occurred_at__lt=end,
            occurred_at__gt=start - dt.timedelta(days=1),
        )
        .exclude(pk__in=linked)
        .values_list("occurred_at", "duration_seconds")
    )
    for at, seconds in logged:
        busy.append((at, at + dt.timedelta(seconds=seconds or 1800)))
    busy += list(
        TimeOff.objects.filter(user=user, starts_at__lt=end, ends_at__gt=start).values_list(
            "starts_at", "ends_at"
        )
    )
    return busy


def meetings_per_day(user: User, tz: zoneinfo.ZoneInfo, start, end) -> Counter:
    starts = Meeting.objects.filter(
        host=user, status=Meeting.Status.BOOKED, starts_at__gte=start, starts_at__lt=end
    ).values_list("starts_at", flat=True)
    return Counter(s.astimezone(tz).date() for s in starts)


def free_slots(
    availability: Availability,
    *,
    now: dt.datetime | None = None,
    ignore_meeting: Meeting | None = None,
) -> list[Slot]:
    """Every bookable slot from now (plus the minimum notice) to the horizon, in UTC."""
    now = now or timezone.now()
    user = availability.user
    if not availability.is_active or not user.is_active or user.out_of_office:
        return []
    tz = zone(availability.time_zone)
    spans = working_spans(availability.weekly_hours)
    duration = dt.timedelta(minutes=max(5, availability.meeting_minutes))
    step = max(5, availability.slot_step_minutes)
    before = dt.timedelta(minutes=availability.buffer_before_minutes)
    after = dt.timedelta(minutes=availability.buffer_after_minutes)
    earliest = now + dt.timedelta(minutes=availability.min_notice_minutes)
    horizon = now + dt.timedelta(days=availability.horizon_days)
    window = (now - dt.timedelta(days=2), horizon + dt.timedelta(days=2))
    busy = busy_intervals(user, *window)
    per_day = meetings_per_day(user, tz, *window)
    if ignore_meeting is not None:
        busy = [
            b for b in busy if (b[0], b[1]) != (ignore_meeting.starts_at, ignore_meeting.ends_at)
        ]
        per_day[ignore_meeting.starts_at.astimezone(tz).date()] -= 1
    slots: list[Slot] = []
    seen: set[dt.datetime] = set()
    day, last_day = now.astimezone(tz).date(), horizon.astimezone(tz).date()
    while day <= last_day:
        span = spans.get(day.isoweekday())
        full = availability.max_per_day and per_day[day] >= availability.max_per_day
        if span is not None and not full:
            closes = local_instant(day, span[1], tz) or local_instant(day, span[1] + 60, tz)
            for minutes in range(span[0], span[1], step):
                start = local_instant(day, minutes, tz)
                if start is None or start in seen:
                    continue
                end = start + duration
                if end > closes or start < earliest or start >= horizon:
                    continue
                padded = (start - before, end + after)
                if any(b_start < padded[1] and b_end > padded[0] for b_start, b_end in busy):
                    continue
                seen.add(start)
                slots.append(Slot(start, end))
        day += dt.timedelta(days=1)
    return sorted(slots, key=lambda s: s.starts_at)


def group_by_local_day(slots: list[Slot], tz_name: str) -> list[dict]:
    """``[{"date": date, "slots": [{"key", "label", "starts_at"}]}]`` in the visitor's zone."""
    tz = zone(tz_name)
    days: dict[dt.date, list[dict]] = {}
    for slot in slots:
        local = slot.starts_at.astimezone(tz)
        days.setdefault(local.date(), []).append(
            {"key": slot.key, "label": local.strftime("%H:%M"), "starts_at": slot.starts_at}
        )
    return [{"date": day, "slots": items} for day, items in sorted(days.items())]


def time_off_covering(user: User, start: dt.datetime, end: dt.datetime) -> bool:
    return TimeOff.objects.filter(Q(user=user), starts_at__lt=end, ends_at__gt=start).exists()
