"""Reports read their independent queries side by side on PostgreSQL (each in a report thread
with its own connection) — outside a transaction only — and get the same figures as one after
the other."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction

from tests.reports.test_forecast import _history
from throughline.billing import services
from throughline.crm import services as crm
from throughline.reports.aging import aging
from throughline.reports.common import side_by_side
from throughline.reports.dso import dso
from throughline.reports.forecast import forecast

TODAY = dt.date(2025, 6, 30)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _thread_name() -> str:
    return threading.current_thread().name


def test_calls_run_in_report_threads_outside_a_transaction_only():
    assert not connection.in_atomic_block
    first, second, third = side_by_side(_thread_name, _thread_name, _thread_name)
    assert first == threading.current_thread().name
    assert second.startswith("report") and third.startswith("report")
    # A report thread's own side_by_side runs its calls there, one after the other.
    inner = side_by_side(_thread_name, lambda: side_by_side(_thread_name, _thread_name))[1]
    assert inner[0] == inner[1] and inner[0].startswith("report")
    with transaction.atomic():  # uncommitted rows: other connections would not see them
        assert side_by_side(_thread_name, _thread_name) == [threading.current_thread().name] * 2


def test_an_error_in_a_report_thread_reaches_the_caller():
    def broken():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    with pytest.raises(Exception, match="division by zero"):
        side_by_side(_thread_name, broken)
    assert side_by_side(_thread_name, lambda: 2)[1] == 2  # the pool is still usable


def test_reports_side_by_side_equal_one_after_the_other(actor, seller, issued, at, client_contact):
    newcomer = crm.create_contact(actor, first_name="No", last_name="History", email="n@h.example")
    _history(issued, at, actor, client_contact, [-3, 5, 12, 40])
    at(TODAY)
    issued(dt.date(2025, 3, 5), dt.date(2025, 4, 4))
    overdue = issued(dt.date(2025, 5, 1), dt.date(2025, 5, 31), contact=newcomer)
    issued(dt.date(2025, 5, 20), dt.date(2025, 6, 19))
    issued(dt.date(2025, 6, 28), dt.date(2025, 7, 28), unit_price="70.00")
    at(TODAY + dt.timedelta(days=2))
    services.record_payment(actor, invoice=overdue, amount="50.00")  # after TODAY: a correction

    def figures():
        return (
            aging(TODAY),
            aging(TODAY + dt.timedelta(days=2)),
            dso(TODAY, 90),
            forecast(TODAY + dt.timedelta(days=2), 90),
        )

    together = figures()
    with transaction.atomic():
        apart = figures()
    assert together == apart
    assert together[0]["total"] > together[1]["total"]  # 50.00 paid after TODAY
