"""Days sales outstanding at a date, two ways.

Definitions (also on the page and in docs/REPORTS.md):

* Period: the ``days`` days ending on ``as_of`` (``as_of − days + 1`` … ``as_of``, inclusive).
* AR: the accounts receivable open on ``as_of`` (reports.aging's total, base currency).
* Credit sales of a day: gross of the invoices issued that day, less the gross of the credit
  notes issued that day, each converted at its stored rate and rounded to the base currency.
* **Period method**: DSO = AR ÷ credit sales in the period × ``days``, to one decimal.
* **Countback method**: start from AR and walk back day by day from ``as_of``, subtracting each
  day's credit sales; every day fully absorbed counts 1, the day on which AR runs out counts
  the fraction it absorbed. Stops after 730 days. It answers "how many days of the most recent
  sales are still unpaid", and is not distorted by a change of sales volume.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from throughline.core import money
from throughline.reports.aging import ar_total
from throughline.reports.common import base_currency, installed, side_by_side

COUNTBACK_LIMIT_DAYS = 730
FIRST_READ_DAYS = 90  # the sales read with AR; older days only when the countback needs them
ONE_PLACE = Decimal("0.1")


DAILY_SALES_SQL = """
SELECT issue_date,
       SUM(CASE WHEN document_type = 'credit_note' THEN -1 ELSE 1 END
           * CASE WHEN currency = %s THEN ABS(gross_total)
                  ELSE ROUND(ABS(gross_total) * exchange_rate, {places}) END)
FROM billing_invoice
WHERE status <> 'draft' AND issue_date >= %s AND issue_date <= %s
  AND (currency = %s OR exchange_rate IS NOT NULL)
GROUP BY issue_date
"""


def daily_sales(start: dt.date, end: dt.date, base: str) -> dict[dt.date, Decimal]:
    """Credit sales per issue day (invoices − credit notes), base currency, start…end inclusive;
    one GROUP BY in the database, each document converted and rounded before summing."""
    if not installed("billing"):
        return {}
    from django.db import connection

    days: dict[dt.date, Decimal] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            DAILY_SALES_SQL.format(places=money.minor_unit(base)), [base, start, end, base]
        )
        for issued, total in cursor.fetchall():
            if isinstance(issued, str):  # SQLite
                issued = dt.date.fromisoformat(issued)
            days[issued] = money.quantize(Decimal(str(total)), base)
    return days


def _one_place(value: Decimal) -> Decimal:
    return value.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def dso(as_of: dt.date, days: int) -> dict:
    """Both methods. AR and the recent sales are read side by side; older sales only as far
    back as the countback needs them (``_countback``)."""
    base = base_currency()
    start = as_of - dt.timedelta(days=days - 1)
    first = min(start, as_of - dt.timedelta(days=FIRST_READ_DAYS - 1))
    ar, sales_by_day = side_by_side(
        lambda: ar_total(as_of), lambda: daily_sales(first, as_of, base)
    )
    period_sales = sum((v for d, v in sales_by_day.items() if d >= start), money.quantize(0, base))
    period = _one_place(ar / period_sales * days) if period_sales > 0 else None
    countback = _countback(ar, as_of, sales_by_day, first, base)
    return {
        "as_of": as_of,
        "days": days,
        "currency": base,
        "period_start": start,
        "ar": ar,
        "credit_sales": period_sales,
        "dso": period,
        "countback_dso": _one_place(countback) if countback is not None else None,
    }


def _countback(ar: Decimal, as_of: dt.date, sales_by_day: dict, read_from: dt.date, base: str):
    """Days of the most recent sales that AR covers (None: AR is older than the lookback).
    ``sales_by_day`` holds the days from ``read_from``; when the walk gets past them, the days
    before are read — as many as the days read so far suggest are needed, and a margin."""
    countback = Decimal(0)
    left = ar
    day = as_of
    one = dt.timedelta(days=1)
    lookback = as_of - dt.timedelta(days=COUNTBACK_LIMIT_DAYS - 1)
    for _ in range(COUNTBACK_LIMIT_DAYS):
        if left <= 0:
            break
        if day < read_from:
            per_day = (ar - left) / ((as_of - day).days or 1)
            need = int(left / per_day * Decimal("1.25")) + 7 if per_day > 0 else 10_000
            start = max(lookback, read_from - dt.timedelta(days=need))
            sales_by_day.update(daily_sales(start, read_from - one, base))
            read_from = start
        sales = sales_by_day.get(day, Decimal(0))
        if sales > 0 and sales >= left:
            countback += left / sales
            left = Decimal(0)
            break
        if sales > 0:
            left -= sales
        countback += 1
        day -= one
    return None if left > 0 else countback
