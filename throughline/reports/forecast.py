"""Cash-flow forecast, day by day: expected receipts from open invoices.

Definition (also on the page and in docs/REPORTS.md):

* Each invoice open today (reports.aging's open amount, base currency) is expected to be paid
  ``issue date + d`` days, where ``d`` is its client's own average days-to-pay over the client's
  paid invoices (issue date → the day it was fully paid); with no paid history, its due date
  (the terms). A date already past moves to today.
* The range: the same with the client's p10 days-to-pay (early: ``high``) and p90 (late:
  ``low``), nearest rank; a client without history has no spread. ``cumulative_low`` and
  ``cumulative_high`` are the running totals under those two cases — the p10–p90 band.
* Not yet included: the weighted pipeline and scheduled invoices (payment schedules, retainers).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from throughline.core import money
from throughline.reports.aging import open_invoices
from throughline.reports.common import base_currency, installed, percentile


def days_to_pay_by_contact(contact_ids) -> dict:
    from throughline.billing.models import DocumentType, Invoice

    history: dict = defaultdict(list)
    rows = Invoice.objects.filter(
        document_type=DocumentType.INVOICE,
        status=Invoice.Status.PAID,
        contact_id__in=list(contact_ids),
        paid_at__isnull=False,
    ).values_list("contact_id", "issue_date", "paid_at")
    for contact_id, issued, paid_at in rows:
        if issued:
            history[contact_id].append(max(0, (paid_at.date() - issued).days))
    return history


def forecast(today: dt.date, days: int) -> dict:
    base = base_currency()
    zero = money.quantize(0, base)
    horizon = today + dt.timedelta(days=days - 1)
    series = {today + dt.timedelta(days=i): [zero, zero, zero] for i in range(days)}
    beyond = zero
    invoices = (
        [r for r in open_invoices(today, base) if r.base_amount is not None]
        if installed("billing")
        else []
    )
    history = days_to_pay_by_contact({r.contact_id for r in invoices}) if invoices else {}
    for row in invoices:
        past = history.get(row.contact_id)
        if past:
            mean = round(sum(past) / len(past))
            dates = [
                row.issue_date + dt.timedelta(days=d)
                for d in (mean, percentile(past, 10), percentile(past, 90))
            ]
        else:
            dates = [row.due_date] * 3
        dates = [max(today, d) for d in dates]  # expected, early (high), late (low)
        if dates[0] > horizon:
            beyond += row.base_amount
        for slot, when in zip((0, 2, 1), dates, strict=True):
            if when <= horizon:
                series[when][slot] += row.base_amount
    out = []
    running = [zero, zero, zero]
    for day in sorted(series):
        expected, low, high = series[day]
        running = [running[0] + expected, running[1] + low, running[2] + high]
        out.append(
            {
                "date": day,
                "expected": expected,
                "cumulative": running[0],
                "cumulative_low": running[1],
                "cumulative_high": running[2],
            }
        )
    return {
        "from": today,
        "days": days,
        "currency": base,
        "total": running[0],
        "beyond_horizon": beyond,
        "includes": ["open_invoices"],
        "series": out,
    }
