"""Billing KPIs of the period, base currency: invoiced (gross of invoices issued, less credit
notes) and collected (payments received, at their stored rate)."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection

from throughline.core import money
from throughline.reports.common import base_currency, installed
from throughline.reports.dso import daily_sales
from throughline.reports.kpis.filters import Filters

# Payments at their stored base amount (or converted at their stored rate), summed in SQL.
COLLECTED_SQL = """
SELECT SUM(COALESCE(base_amount, CASE WHEN currency = %s THEN amount
                                      ELSE ROUND(amount * exchange_rate, {places}) END))
FROM billing_payment
WHERE status = 'succeeded' AND received_on >= %s AND received_on <= %s
  AND (base_amount IS NOT NULL OR currency = %s OR exchange_rate IS NOT NULL)
"""


def billing_kpis(filters: Filters) -> dict | None:
    if not installed("billing"):
        return None
    from throughline.billing.models import Invoice

    if not Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists():
        return None
    base = base_currency()
    zero = money.quantize(0, base)
    invoiced = sum(daily_sales(filters.start, filters.end, base).values(), zero)
    collected = zero
    with connection.cursor() as cursor:
        cursor.execute(
            COLLECTED_SQL.format(places=money.minor_unit(base)),
            [base, filters.start, filters.end, base],
        )
        (total,) = cursor.fetchone()
    if total is not None:
        collected = money.quantize(Decimal(str(total)), base)
    return {"currency": base, "invoiced": invoiced, "collected": collected}
