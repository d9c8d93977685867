"""Lead response and the funnel by source.

* Response time = first response − arrival (``received_at``), for leads that arrived in the
  period. Median: the middle value (mean of the two middle ones); p90: nearest rank
  (the ⌈0.9 n⌉-th smallest). Unanswered leads are left out of median and p90.
* Within 5 minutes: leads answered in ≤ 300 s ÷ all leads that arrived (unanswered count as not).
* SLA breaches: leads of the period answered after their SLA deadline, or not answered and past
  it now (or marked breached by intake's sweep).
* Funnel: leads → qualified (status qualified or converted) → deals (a deal made from the lead)
  → won; lost reasons of the deals lost in the period, most frequent first. Spend, cost per
  lead and cost per won deal per source and in total: see ``reports/spend.py``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from throughline.reports.common import installed, median, percentile
from throughline.reports.kpis.filters import Filters

FIVE_MINUTES = 300


def _leads(filters: Filters):
    from throughline.intake.models import Lead

    qs = Lead.objects.filter(received_at__gte=filters.since, received_at__lt=filters.until)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.source:
        qs = qs.filter(source__slug=filters.source)
    return qs


def response_stats(seconds: list[float], total: int) -> dict:
    within = sum(1 for s in seconds if s <= FIVE_MINUTES)
    return {
        "leads": total,
        "answered": len(seconds),
        "median_seconds": median(seconds),
        "p90_seconds": percentile(seconds, 90),
        "within_5_min_share": round(within / total, 4) if total else None,
    }


def lead_kpis(filters: Filters) -> dict | None:
    if not installed("intake"):
        return None
    if connection.vendor == "postgresql":
        stats = _stats_in_sql(filters)
    else:
        stats = _stats_in_python(filters)
    if stats is None:
        return None
    counts = stats.pop("funnel_counts", None)
    return {**stats, "funnel": funnel(filters, counts)}


# PostgreSQL: one grouped query (by source, by owner, overall). percentile_cont(0.5) is the
# median as defined (mean of the two middle values); percentile_disc(0.9) is the nearest rank.
STATS_SQL = """
SELECT s.slug, COALESCE(u.email, '(unassigned)'), GROUPING(s.slug), GROUPING(COALESCE(u.email,
       '(unassigned)')),
       COUNT(*), COUNT(l.first_response_at),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
           l.first_response_at - l.received_at)),
       percentile_disc(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
           l.first_response_at - l.received_at)),
       COUNT(*) FILTER (WHERE l.first_response_at - l.received_at <= interval '300 seconds'),
       COUNT(*) FILTER (WHERE l.sla_breached_at IS NOT NULL OR (l.sla_due_at IS NOT NULL AND (
           l.first_response_at > l.sla_due_at
           OR (l.first_response_at IS NULL AND %(now)s > l.sla_due_at)))),
       COUNT(*) FILTER (WHERE l.status IN ('qualified', 'converted')),
       {deal_columns}
FROM intake_lead l
JOIN intake_leadsource s ON s.id = l.source_id
LEFT JOIN core_user u ON u.id = l.owner_id
{deal_join}
WHERE l.received_at >= %(since)s AND l.received_at < %(until)s {extra}
GROUP BY GROUPING SETS ((s.slug), (COALESCE(u.email, '(unassigned)')), ())
"""


def _float(value):
    return float(value) if value is not None else None


def _stats_in_sql(filters: Filters) -> dict | None:
    extra = ""
    params = {"since": filters.since, "until": filters.until, "now": timezone.now()}
    if filters.owner:
        extra += " AND l.owner_id = %(owner)s"
        params["owner"] = filters.owner
    if filters.source:
        extra += " AND s.slug = %(source)s"
        params["source"] = filters.source
    deal_columns, deal_join = "0, 0", ""
    if installed("sales"):  # a lead makes at most one deal (Deal.lead_id is unique)
        deal_columns = "COUNT(d.id), COUNT(d.id) FILTER (WHERE d.status = 'won')"
        deal_join = "LEFT JOIN sales_deal d ON d.lead_id = l.id"
    sql = STATS_SQL.format(extra=extra, deal_columns=deal_columns, deal_join=deal_join)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    overall, by_source, by_owner, breaches, funnel_counts = None, {}, {}, 0, {}
    for row in rows:
        source, owner, no_source, no_owner, total, answered, mid, p90, within, breached = row[:10]
        qualified, deals, won = row[10:]
        stats = {
            "leads": total,
            "answered": answered,
            "median_seconds": _float(mid),
            "p90_seconds": _float(p90),
            "within_5_min_share": round(within / total, 4) if total else None,
        }
        if no_source and no_owner:
            overall, breaches = stats, breached
        elif no_owner:
            by_source[source] = stats
            funnel_counts[source] = {
                "leads": total,
                "qualified": qualified,
                "deals": deals,
                "won": won,
            }
        else:
            by_owner[owner] = stats
    if overall is None or overall["leads"] == 0:
        return None
    return {
        "response": overall,
        "by_source": dict(sorted(by_source.items())),
        "by_owner": dict(sorted(by_owner.items())),
        "sla_breaches": breaches,
        "funnel_counts": funnel_counts,
    }


def _stats_in_python(filters: Filters) -> dict | None:
    """The same figures for databases without ordered-set aggregates (SQLite)."""
    rows = list(
        _leads(filters).values_list(
            "received_at",
            "first_response_at",
            "sla_due_at",
            "sla_breached_at",
            "source__slug",
            "owner__email",
        )
    )
    if not rows:
        return None
    now = timezone.now()
    everything: list[float] = []
    by_source: dict[str, list] = defaultdict(lambda: [[], 0])
    by_owner: dict[str, list] = defaultdict(lambda: [[], 0])
    breaches = 0
    for received, responded, due, breached, source, owner in rows:
        seconds = (responded - received).total_seconds() if responded else None
        for key, table in ((source, by_source), (owner or "(unassigned)", by_owner)):
            table[key][1] += 1
            if seconds is not None:
                table[key][0].append(seconds)
        if seconds is not None:
            everything.append(seconds)
        if breached or (due and ((responded and responded > due) or (not responded and now > due))):
            breaches += 1
    return {
        "response": response_stats(everything, len(rows)),
        "by_source": {k: response_stats(v[0], v[1]) for k, v in sorted(by_source.items())},
        "by_owner": {k: response_stats(v[0], v[1]) for k, v in sorted(by_owner.items())},
        "sla_breaches": breaches,
    }


def funnel(filters: Filters, counted: dict | None = None) -> dict:
    """Counts by source in one grouped query (or ``counted`` already, by the PostgreSQL
    statistics query); lost reasons in another."""
    counts = {
        "leads": Count("pk"),
        "qualified": Count("pk", filter=Q(status__in=["qualified", "converted"])),
    }
    leads = _leads(filters).order_by()
    lost_reasons: list = []
    if installed("sales"):
        from throughline.reports.kpis.sales import by_source as deals_of_source
        from throughline.sales.models import Deal

        made = Deal.objects.filter(lead_id=OuterRef("pk"))
        leads = leads.annotate(
            has_deal=Exists(made), has_won=Exists(made.filter(status=Deal.Status.WON))
        )
        counts["deals"] = Count("pk", filter=Q(has_deal=True))
        counts["won"] = Count("pk", filter=Q(has_won=True))
        lost = deals_of_source(
            Deal.objects.filter(
                status=Deal.Status.LOST, closed_at__gte=filters.since, closed_at__lt=filters.until
            ),
            filters,
        )
        if filters.owner:
            lost = lost.filter(owner_id=filters.owner)
        reasons = (
            lost.order_by()
            .values("lost_reason__name")
            .annotate(deals=Count("pk"))
            .order_by("-deals", "lost_reason__name")
        )
        lost_reasons = [
            {"reason": r["lost_reason__name"] or "(none)", "deals": r["deals"]} for r in reasons
        ]
    if counted is None:
        counted = {
            row["source__slug"]: {
                "leads": row["leads"],
                "qualified": row["qualified"],
                "deals": row.get("deals", 0),
                "won": row.get("won", 0),
            }
            for row in leads.values("source__slug").annotate(**counts).order_by("source__slug")
        }
    return {**with_spend(filters, counted), "lost_reasons": lost_reasons}


def _rate(won: int, leads: int) -> float | None:
    return round(won / leads, 4) if leads else None


def with_spend(filters: Filters, counted: dict) -> dict:
    """The funnel rows by source and their totals, with spend, cost per lead and cost per won
    deal (``reports/spend.py``). A source with spend but no lead in the period gets a row of
    zeros. With an owner filter the costs are None: spend is per source, not per owner."""
    from throughline.reports.spend import spend_for

    spent = spend_for(filters)
    currency, amounts = spent["currency"], spent["by_source"]
    zero = {"leads": 0, "qualified": 0, "deals": 0, "won": 0}
    by_source = {}
    for source in sorted(set(counted) | set(amounts)):
        entry = {**zero, **counted.get(source, {})}
        entry["lead_to_won_rate"] = _rate(entry["won"], entry["leads"])
        by_source[source] = {**entry, **_costs(amounts.get(source), entry, currency, filters)}
    totals = {key: sum(row[key] for row in by_source.values()) for key in zero}
    totals["lead_to_won_rate"] = _rate(totals["won"], totals["leads"])
    # Totals' costs: the spend of the sources that have some ÷ those sources' leads (won).
    paid = [row for row in by_source.values() if row["spend"] is not None]
    spend_total = sum((row["spend"] for row in paid), start=Decimal(0)) if paid else None
    base = {key: sum(row[key] for row in paid) for key in ("leads", "won")}
    totals.update(_costs(spend_total, base, currency, filters))
    return {
        "currency": currency,
        "by_source": by_source,
        "totals": totals,
        "spend_unconverted": spent["unconverted"],
    }


def _costs(spend, counts: dict, currency: str, filters: Filters) -> dict:
    from throughline.reports.spend import cost_per

    by_owner = bool(filters.owner)
    return {
        "spend": spend,
        "cost_per_lead": None if by_owner else cost_per(spend, counts["leads"], currency),
        "cost_per_won_deal": None if by_owner else cost_per(spend, counts["won"], currency),
    }
