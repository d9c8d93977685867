"""Business days from the organization's working hours and time zone.

A business day is a weekday on which ``Organization.working_hours`` has a span (ISO weekday →
``["09:00", "17:00"]``). Adding N business days keeps the local time of day and moves over
closed days: with Monday–Friday 09:00–17:00, Friday 16:00 + 2 business days is Tuesday 16:00.
A start outside working hours first moves to the next opening (Saturday 10:00 counts from
Monday 09:00), so "within N business days" never shrinks over a weekend.

Public holidays are not taken into account (the ``holidays`` package conflicts with the pinned
``python-dateutil``); an organization that closes on a holiday adjusts its working hours.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from throughline.core.models import Organization

MAX_SCAN_DAYS = 366 * 2  # working hours with no open day at all must not loop forever


@dataclass(frozen=True)
class Calendar:
    tz: zoneinfo.ZoneInfo
    hours: dict[int, tuple[dt.time, dt.time]]  # ISO weekday -> (open, close)

    @classmethod
    def for_organization(cls, org: Organization | None = None) -> Calendar:
        org = org or Organization.current()
        hours: dict[int, tuple[dt.time, dt.time]] = {}
        for day, span in (org.working_hours or {}).items():
            try:
                start, end = (dt.time.fromisoformat(s) for s in span)
            except (TypeError, ValueError):
                continue
            if start < end:
                hours[int(day)] = (start, end)
        return cls(tz=zoneinfo.ZoneInfo(org.time_zone or "UTC"), hours=hours)

    def is_business_day(self, day: dt.date) -> bool:
        return day.isoweekday() in self.hours

    def _local(self, day: dt.date, at: dt.time) -> dt.datetime:
        return dt.datetime.combine(day, at, tzinfo=self.tz)

    def next_opening(self, moment: dt.datetime) -> dt.datetime:
        """``moment`` if it is within working hours, otherwise the next opening time."""
        local = moment.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_SCAN_DAYS):
            span = self.hours.get(day.isoweekday())
            if span is not None:
                opening, closing = self._local(day, span[0]), self._local(day, span[1])
                if local < opening:
                    return opening
                if local < closing:
                    return local
            day += dt.timedelta(days=1)
            local = self._local(day, dt.time(0, 0))
        raise ValueError("The organization's working hours have no open day.")

    def add_business_days(self, moment: dt.datetime, days: int) -> dt.datetime:
        """``days`` business days after ``moment``, at the same local time (clamped to hours)."""
        if days < 0:
            raise ValueError("Business days to add must not be negative.")
        if not self.hours:
            raise ValueError("The organization's working hours have no open day.")
        start = self.next_opening(moment)
        day, time_of_day = start.date(), start.timetz().replace(tzinfo=None)
        remaining = days
        for _ in range(MAX_SCAN_DAYS):
            if remaining == 0:
                break
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                remaining -= 1
        else:  # pragma: no cover - guarded by the check above
            raise ValueError("Too many business days.")
        opening, closing = self.hours[day.isoweekday()]
        clamped = min(max(time_of_day, opening), closing)
        return self._local(day, clamped)

    def business_days_between(self, start: dt.datetime, end: dt.datetime) -> int:
        """Whole business days from ``start``'s day to ``end``'s day (for display)."""
        a, b = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        count = 0
        while a < b and count < MAX_SCAN_DAYS:
            a += dt.timedelta(days=1)
            if self.is_business_day(a):
                count += 1
        return count


def add_business_days(moment: dt.datetime, days: int, org: Organization | None = None):
    return Calendar.for_organization(org).add_business_days(moment, days)
