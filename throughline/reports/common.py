"""Helpers every report shares: which apps have landed, the base currency, dates, percentiles."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import math
import threading
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from django.apps import apps

from throughline.core import money
from throughline.core.models import Organization

T = TypeVar("T")


class ReportParamError(ValueError):
    """A query parameter a report cannot use; ``field`` names it for the problem's errors."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def installed(label: str) -> bool:
    return apps.is_installed(f"throughline.{label}") or label in apps.app_configs


def base_currency() -> str:
    return Organization.current().base_currency


def org_tz() -> zoneinfo.ZoneInfo:
    """The organization's time zone: reports' days start and end there."""
    return zoneinfo.ZoneInfo(Organization.current().time_zone or "UTC")


def org_today() -> dt.date:
    from django.utils import timezone

    return timezone.now().astimezone(org_tz()).date()


def parse_date(value: str | None, field: str, default: dt.date | None = None) -> dt.date:
    if value in (None, ""):
        if default is None:
            raise ReportParamError(field, "This parameter is required (YYYY-MM-DD).")
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ReportParamError(field, "Give a date as YYYY-MM-DD.") from exc


def parse_int(value: str | None, field: str, default: int, lo: int = 1, hi: int = 3660) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ReportParamError(field, "Give a whole number.") from exc
    if not lo <= number <= hi:
        raise ReportParamError(field, f"Give a number from {lo} to {hi}.")
    return number


def to_base(amount: Decimal, currency: str, rate: Decimal | None, base: str) -> Decimal | None:
    """``amount`` in the base currency at the document's stored rate, rounded to its minor unit
    (None when the document is in another currency and carries no rate)."""
    if currency == base:
        return money.quantize(amount, base)
    if rate is None:
        return None
    return money.quantize(amount * rate, base)


def median(values: list) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    if not values:
        return None
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list, p: int) -> float | None:
    """Nearest-rank percentile: the ⌈p/100 × n⌉-th smallest value."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the organization's time zone."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=org_tz())


# Grouping a few hundred thousand rows: enough memory that PostgreSQL's hash aggregates and
# sorts stay off disk (SET LOCAL: this transaction only).
REPORT_WORK_MEM = "64MB"


def fetch_many(sql: str, params, work_mem: str | None = None) -> list[tuple]:
    """Rows of a report query that returns tens of thousands of rows. On PostgreSQL: in one
    transaction (``work_mem`` raised for it alone when given) and in binary form, which
    psycopg reads about twice as fast as text."""
    from django.db import connection, transaction

    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    with transaction.atomic():
        connection.ensure_connection()
        # A plain (server-side binding) cursor: Django's client-side binding ones read text only.
        with psycopg.Cursor(connection.connection) as cursor:
            if work_mem:
                cursor.execute(f"SET LOCAL work_mem = '{work_mem}'")
            cursor.execute(sql, params, binary=True)
            return cursor.fetchall()


# Report queries side by side: a few threads, each with its own database connection.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="report")
_IN_POOL = threading.local()


def side_by_side(*calls: Callable[[], T]) -> list[T]:
    """The results of ``calls``, run at the same time when that is safe: on PostgreSQL outside
    a transaction, where each query sees what is committed anyway (inside one — a test's, or
    an all-or-nothing job's — another connection would not see its rows). The caller's thread
    runs the first call; the others run in report threads, each on a connection of its own that
    is closed when the call ends. Otherwise, and from inside a report thread, one after the
    other. The time of the slowest call, not of all of them: a report's independent queries
    take both cores of a small server."""
    from django.db import connection

    if (
        len(calls) < 2
        or connection.vendor != "postgresql"
        or connection.in_atomic_block
        or getattr(_IN_POOL, "active", False)
    ):
        return [call() for call in calls]
    futures = [_POOL.submit(_in_pool, call) for call in calls[1:]]
    try:
        first = calls[0]()
    finally:
        rest = [future.result() for future in futures]  # never leave a call running
    return [first, *rest]


def _in_pool(call: Callable[[], T]) -> T:
    from django.db import connections

    _IN_POOL.active = True
    try:
        return call()
    finally:
        _IN_POOL.active = False
        connections.close_all()
