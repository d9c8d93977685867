"""Billing KPIs of the period, base currency: invoiced (gross of invoices issued, less credit
notes) and collected (payments received, at their stored rate), in total and per calendar month.

Issue dates and ``received_on`` are already dates of the organization's calendar, so a month is
the plain calendar month of those dates. The months overlap the period, the first and last
clipped to it; the totals are the sums of the months, so the two can never disagree. Owner and
source filters do not apply: invoices and payments carry neither.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from throughline.core import money
from throughline.reports.common import base_currency, installed
from throughline.reports.dso import daily_sales
from throughline.reports.kpis.filters import Filters

# The calendar month (YYYY-MM) of a date column, per database.
MONTH_SQL = {
    "postgresql": "to_char({column}, 'YYYY-MM')",
    "sqlite": "strftime('%%Y-%%m', {column})",
}

# Payments at their stored base amount (or converted at their stored rate), summed per month
# in SQL: the one query behind both the monthly and the period's collected figures.
COLLECTED_SQL = """
SELECT {month} AS month,
       SUM(COALESCE(base_amount, CASE WHEN currency = %s THEN amount
                                      ELSE ROUND(amount * exchange_rate, {places}) END))
FROM billing_payment
WHERE status = 'succeeded' AND received_on >= %s AND received_on <= %s
  AND (base_amount IS NOT NULL OR currency = %s OR exchange_rate IS NOT NULL)
GROUP BY {month}
"""


def month_ranges(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The calendar months overlapping ``start`` … ``end`` as ``(YYYY-MM, first, last)``, the
    first and last months clipped to the period."""
    months = []
    first = start.replace(day=1)
    while first <= end:
        following = (first + dt.timedelta(days=32)).replace(day=1)
        last = following - dt.timedelta(days=1)
        months.append((first.strftime("%Y-%m"), max(first, start), min(last, end)))
        first = following
    return months


def collected_by_month(start: dt.date, end: dt.date, base: str) -> dict[str, Decimal]:
    """Payments received ``start`` … ``end`` per month (YYYY-MM), base currency; months
    without payments are absent."""
    month = MONTH_SQL.get(connection.vendor, MONTH_SQL["postgresql"]).format(column="received_on")
    sql = COLLECTED_SQL.format(month=month, places=money.minor_unit(base))
    with connection.cursor() as cursor:
        cursor.execute(sql, [base, start, end, base])
        rows = cursor.fetchall()
    return {
        key: money.quantize(Decimal(str(total)), base) for key, total in rows if total is not None
    }


def invoiced_by_month(start: dt.date, end: dt.date, base: str) -> dict[str, Decimal]:
    """Credit sales (invoices − credit notes, dso.daily_sales) summed per month (YYYY-MM)."""
    months: dict[str, Decimal] = {}
    for day, amount in daily_sales(start, end, base).items():
        key = day.strftime("%Y-%m")
        months[key] = months.get(key, Decimal(0)) + amount
    return months


def billing_kpis(filters: Filters) -> dict | None:
    """``{currency, invoiced, collected, difference, months: [{month, from, to, invoiced,
    collected, difference}]}`` for the period, or None before the first invoice is issued."""
    if not installed("billing"):
        return None
    from throughline.billing.models import Invoice

    if not Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists():
        return None
    base = base_currency()
    zero = money.quantize(0, base)
    invoiced = invoiced_by_month(filters.start, filters.end, base)
    collected = collected_by_month(filters.start, filters.end, base)
    months = []
    for key, first, last in month_ranges(filters.start, filters.end):
        month_invoiced = invoiced.get(key, zero)
        month_collected = collected.get(key, zero)
        months.append(
            {
                "month": key,
                "from": first,
                "to": last,
                "invoiced": month_invoiced,
                "collected": month_collected,
                "difference": month_invoiced - month_collected,
            }
        )
    total_invoiced = sum((m["invoiced"] for m in months), zero)
    total_collected = sum((m["collected"] for m in months), zero)
    return {
        "currency": base,
        "invoiced": total_invoiced,
        "collected": total_collected,
        "difference": total_invoiced - total_collected,
        "months": months,
    }
