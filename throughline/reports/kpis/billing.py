"""Billing KPIs of the period, base currency: invoiced (gross of invoices issued, less credit
notes) and collected (payments received, at their stored rate)."""

from __future__ import annotations

from throughline.core import money
from throughline.reports.common import base_currency, installed, to_base
from throughline.reports.dso import daily_sales
from throughline.reports.kpis.filters import Filters


def billing_kpis(filters: Filters) -> dict | None:
    if not installed("billing"):
        return None
    from throughline.billing.models import Invoice, Payment

    if not Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists():
        return None
    base = base_currency()
    zero = money.quantize(0, base)
    invoiced = sum(daily_sales(filters.start, filters.end, base).values(), zero)
    collected = zero
    payments = Payment.objects.filter(
        status=Payment.Status.SUCCEEDED,
        received_on__gte=filters.start,
        received_on__lte=filters.end,
    ).values_list("amount", "currency", "exchange_rate", "base_amount")
    for amount, currency, rate, base_amount in payments:
        converted = (
            base_amount if base_amount is not None else to_base(amount, currency, rate, base)
        )
        if converted is not None:
            collected += money.quantize(converted, base)
    return {"currency": base, "invoiced": invoiced, "collected": collected}
