"""Sales KPIs. Deal values are in each deal's own currency (deals carry no exchange rate), so
every money figure is given per currency.

* Owner and source filters: the deal's owner; the deal's source or its lead's source.
* Pipeline: open deals by expected-close month ("none" when no date): total value and
  weighted value (value × stage probability ÷ 100), rounded to the currency's minor unit.
* Win rate: deals won ÷ deals won or lost, closed in the period.
* Average deal size: mean value of the deals won in the period.
* Sales cycle: mean days from a won deal's creation to its close.
* Proposal turnaround: median hours from the deal's qualification to its first proposal sent
  (target under 24 h); sent → accepted: median hours from sending to client acceptance.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, Sum
from django.db.models.functions import TruncMonth

from throughline.core import money
from throughline.reports.common import installed, median
from throughline.reports.kpis.filters import Filters


def by_source(deals, filters: Filters):
    """Deals of the lead source ``filters.source``: recorded on the deal, or of a lead from it."""
    if not filters.source:
        return deals
    condition = Q(source=filters.source)
    if installed("intake"):
        from throughline.intake.models import Lead

        condition |= Q(lead_id__in=Lead.objects.filter(source__slug=filters.source).values("id"))
    return deals.filter(condition)


def _hours(delta) -> float:
    return round(delta.total_seconds() / 3600, 2)


def pipeline(filters: Filters) -> list[dict]:
    from throughline.sales.models import Deal

    deals = by_source(Deal.objects.filter(status=Deal.Status.OPEN), filters)
    if filters.owner:
        deals = deals.filter(owner_id=filters.owner)
    rows = (
        deals.order_by()
        .annotate(month=TruncMonth("expected_close_date"))
        .values("month", "currency")
        .annotate(
            deals=Count("id"),
            total=Sum("value"),
            weighted=Sum(
                F("value") * F("stage__probability") / 100,
                output_field=DecimalField(max_digits=30, decimal_places=10),
            ),
        )
    )
    out = [
        {
            "month": row["month"].strftime("%Y-%m") if row["month"] else "none",
            "currency": row["currency"],
            "deals": row["deals"],
            "value": money.quantize(row["total"], row["currency"]),
            "weighted": money.quantize(row["weighted"], row["currency"]),
        }
        for row in rows
    ]
    return sorted(out, key=lambda r: (r["month"], r["currency"]))


def sales_kpis(filters: Filters) -> dict | None:
    if not installed("sales"):
        return None
    from throughline.sales.models import Deal, Proposal

    if not Deal.objects.exists():
        return None
    closed = by_source(
        Deal.objects.filter(closed_at__gte=filters.since, closed_at__lt=filters.until), filters
    )
    if filters.owner:
        closed = closed.filter(owner_id=filters.owner)
    won = [d for d in closed.values("status", "value", "currency", "created_at", "closed_at")]
    won_deals = [d for d in won if d["status"] == Deal.Status.WON]
    lost = sum(1 for d in won if d["status"] == Deal.Status.LOST)
    sizes: dict[str, list[Decimal]] = defaultdict(list)
    for d in won_deals:
        sizes[d["currency"]].append(d["value"])
    cycle = [(d["closed_at"] - d["created_at"]).total_seconds() / 86400 for d in won_deals]

    proposals = Proposal.objects.filter(sent_at__gte=filters.since, sent_at__lt=filters.until)
    if filters.owner:
        proposals = proposals.filter(deal__owner_id=filters.owner)
    if filters.source:
        proposals = proposals.filter(deal__in=by_source(Deal.objects.all(), filters))
    first_sent: dict = {}
    accept_hours = []
    for deal_id, qualified, sent, accepted in proposals.values_list(
        "deal_id", "deal__qualified_at", "sent_at", "accepted_at"
    ).order_by("sent_at"):
        if qualified and deal_id not in first_sent:
            first_sent[deal_id] = _hours(sent - qualified)
        if accepted:
            accept_hours.append(_hours(accepted - sent))
    decided = len(won_deals) + lost
    return {
        "pipeline": pipeline(filters),
        "won": len(won_deals),
        "lost": lost,
        "win_rate": round(len(won_deals) / decided, 4) if decided else None,
        "average_deal_size": [
            {"currency": c, "amount": money.quantize(sum(v) / len(v), c)}
            for c, v in sorted(sizes.items())
        ],
        "sales_cycle_days": round(sum(cycle) / len(cycle), 1) if cycle else None,
        "proposal_turnaround_hours": median(list(first_sent.values())),
        "sent_to_accepted_hours": median(accept_hours),
    }
