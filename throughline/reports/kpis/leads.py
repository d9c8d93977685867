"""Lead response and the funnel by source.

* Response time = first response − arrival (``received_at``), for leads that arrived in the
  period. Median: the middle value (mean of the two middle ones); p90: nearest rank
  (the ⌈0.9 n⌉-th smallest). Unanswered leads are left out of median and p90.
* Within 5 minutes: leads answered in ≤ 300 s ÷ all leads that arrived (unanswered count as not).
* SLA breaches: leads of the period answered after their SLA deadline, or not answered and past
  it now (or marked breached by intake's sweep).
* Funnel: leads → qualified (status qualified or converted) → deals (a deal made from the lead)
  → won; lost reasons of the deals lost in the period, most frequent first.
"""

from __future__ import annotations

from collections import Counter, defaultdict

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
    rows = list(
        _leads(filters).values_list(
            "id",
            "received_at",
            "first_response_at",
            "sla_due_at",
            "sla_breached_at",
            "source__slug",
            "owner__email",
            "status",
        )
    )
    if not rows:
        return None
    now = timezone.now()
    everything: list[float] = []
    by_source: dict[str, list] = defaultdict(lambda: [[], 0])
    by_owner: dict[str, list] = defaultdict(lambda: [[], 0])
    breaches = 0
    for _pk, received, responded, due, breached, source, owner, _status in rows:
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
        "funnel": funnel(filters, rows),
    }


def funnel(filters: Filters, rows: list) -> dict:
    qualified_statuses = {"qualified", "converted"}
    by_source: dict[str, dict] = defaultdict(
        lambda: {"leads": 0, "qualified": 0, "deals": 0, "won": 0}
    )
    source_of = {}
    for pk, *_rest, source, _owner, status in rows:
        source_of[pk] = source
        by_source[source]["leads"] += 1
        if status in qualified_statuses:
            by_source[source]["qualified"] += 1
    lost_reasons: list = []
    if installed("sales"):
        from throughline.sales.models import Deal

        for lead_id, status in Deal.objects.filter(lead_id__in=list(source_of)).values_list(
            "lead_id", "status"
        ):
            counts = by_source[source_of[lead_id]]
            counts["deals"] += 1
            if status == Deal.Status.WON:
                counts["won"] += 1
        from throughline.reports.kpis.sales import by_source as deals_of_source

        lost = deals_of_source(
            Deal.objects.filter(
                status=Deal.Status.LOST, closed_at__gte=filters.since, closed_at__lt=filters.until
            ),
            filters,
        )
        if filters.owner:
            lost = lost.filter(owner_id=filters.owner)
        reasons = Counter(
            name or "(none)" for name in lost.values_list("lost_reason__name", flat=True)
        )
        lost_reasons = [{"reason": r, "deals": n} for r, n in reasons.most_common()]
    for counts in by_source.values():
        leads = counts["leads"]
        counts["lead_to_won_rate"] = round(counts["won"] / leads, 4) if leads else None
    return {"by_source": dict(sorted(by_source.items())), "lost_reasons": lost_reasons}
