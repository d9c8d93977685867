"""Backtest of the cash-flow forecast: how far it was from what happened.

Definition (also on the page and in docs/REPORTS.md): for each of the ``months`` full months
before the current one, the forecast is run as of the month's first day — on the data known
then (invoices open that day, payment history before it, proposals accepted before it, deals
open that day at the stage they were in) — over the days of that month, and compared with the
receipts of that month (payments received, base currency at their stored rate).

* Error = forecast − actual; absolute error = |error|.
* MAPE = mean of |error| ÷ actual over the months with receipts, as a percentage.
* In band: the actual total lies between the forecast's p10 and p90 totals.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from throughline.core import money
from throughline.reports.common import base_currency, installed, to_base
from throughline.reports.forecast import forecast

BACKTEST_SIMULATIONS = 200


def receipts(start: dt.date, end: dt.date, base: str) -> Decimal:
    """Payments received start…end (inclusive), base currency."""
    total = money.quantize(0, base)
    if not installed("billing"):
        return total
    from throughline.billing.models import Payment

    rows = Payment.objects.filter(
        status=Payment.Status.SUCCEEDED, received_on__gte=start, received_on__lte=end
    ).values_list("amount", "currency", "exchange_rate", "base_amount")
    for amount, currency, rate, base_amount in rows:
        converted = (
            base_amount if base_amount is not None else to_base(amount, currency, rate, base)
        )
        if converted is not None:
            total += money.quantize(converted, base)
    return total


def month_starts(today: dt.date, months: int) -> list[dt.date]:
    first = today.replace(day=1)
    out = []
    for _ in range(months):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        out.append(first)
    return list(reversed(out))


def backtest(today: dt.date, months: int = 6) -> dict:
    base = base_currency()
    rows = []
    for start in month_starts(today, months):
        length = calendar.monthrange(start.year, start.month)[1]
        end = start + dt.timedelta(days=length - 1)
        predicted = forecast(start, length, sims=BACKTEST_SIMULATIONS)
        actual = receipts(start, end, base)
        error = predicted["total"] - actual
        rows.append(
            {
                "month": start.strftime("%Y-%m"),
                "forecast": predicted["total"],
                "low": predicted["total_low"],
                "high": predicted["total_high"],
                "actual": actual,
                "error": error,
                "absolute_error": abs(error),
                "ape": (abs(error) / actual * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
                if actual > 0
                else None,
                "in_band": predicted["total_low"] <= actual <= predicted["total_high"],
            }
        )
    apes = [r["ape"] for r in rows if r["ape"] is not None]
    mape = (sum(apes) / len(apes)).quantize(Decimal("0.1"), ROUND_HALF_UP) if apes else None
    zero = money.quantize(0, base)
    mean_abs = (
        money.quantize(sum((r["absolute_error"] for r in rows), zero) / len(rows), base)
        if rows
        else None
    )
    return {
        "currency": base,
        "months": rows,
        "mape_percent": mape,
        "mean_absolute_error": mean_abs,
        "in_band": sum(1 for r in rows if r["in_band"]),
    }


def _fingerprint() -> str:
    """Changes when invoices, payments, allocations or deals are added (indexed maxima)."""
    from django.db.models import Max

    parts = []
    if installed("billing"):
        from throughline.billing.models import Allocation, Invoice, Payment

        parts += [
            Invoice.objects.aggregate(m=Max("created_at"))["m"],
            Payment.objects.aggregate(m=Max("created_at"))["m"],
            Allocation.objects.aggregate(m=Max("id"))["m"],
        ]
    if installed("sales"):
        from throughline.sales.models import Deal, DealStageChange

        parts += [
            Deal.objects.aggregate(m=Max("created_at"))["m"],
            DealStageChange.objects.aggregate(m=Max("at"))["m"],
        ]
    return "|".join(str(p) for p in parts)


def cached_backtest(today: dt.date, months: int = 6) -> dict:
    """The dashboard's backtest, kept an hour unless new records arrive (past months rarely
    change; each month re-runs the forecast as of a past date)."""
    import hashlib

    from django.core.cache import cache

    stamp = hashlib.sha256(_fingerprint().encode()).hexdigest()[:16]
    key = f"reports:backtest:{today}:{months}:{base_currency()}:{stamp}"
    return cache.get_or_set(key, lambda: backtest(today, months), 3600)
