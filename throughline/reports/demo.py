"""Demo data for reports: marketing spend per lead source for the last three months, so the
funnel shows cost per lead and per won deal (sources without spend stay without)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from throughline.core.demo import DemoContext, demo_section
from throughline.reports.common import org_today
from throughline.reports.models import SourceSpend
from throughline.reports.spend import parse_month, record_spend

# Monthly spend of the paid channels, in whole units of the base currency.
MONTHLY = {"google-ads": 900, "linkedin": 450, "trade-show": 1200, "website": 120}


@demo_section("reports", order=70, has_data=lambda: SourceSpend.objects.exists())
def build_reports(ctx: DemoContext) -> None:
    from throughline.intake.models import LeadSource

    rng = ctx.rng_for("reports")
    month = parse_month(org_today())
    for _ in range(3):
        for source in LeadSource.objects.filter(slug__in=MONTHLY).order_by("slug"):
            amount = Decimal(MONTHLY[source.slug]) * Decimal(rng.randint(85, 115)) / 100
            if SourceSpend.objects.filter(source=source, month=month).exists():
                continue  # a re-run adds nothing
            record_spend(ctx.actor, source=source, month=month, amount=amount.quantize(Decimal(1)))
            ctx.count("marketing spend entries")
        month = parse_month(month - dt.timedelta(days=1))
