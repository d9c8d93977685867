""" "Today" for billing is the organization's date, not the server's (a 23:30 issue in Sydney)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone

from throughline.core.models import Organization

DEFAULT_TERMS_DAYS = 30


def org_today(now: dt.datetime | None = None) -> dt.date:
    try:
        zone = zoneinfo.ZoneInfo(Organization.current().time_zone or "UTC")
    except zoneinfo.ZoneInfoNotFoundError:
        zone = dt.UTC
    return timezone.localtime(now or timezone.now(), zone).date()


def org_date_of(moment: dt.datetime) -> dt.date:
    return org_today(moment)
