"""Sales KPIs on hand-computed deals made through sales' services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from throughline.reports.kpis import kpis
from throughline.reports.kpis.filters import Filters
from throughline.sales.services import pipeline as sales

JUNE = Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30))


def _reason(actor, name):
    return sales.find_lost_reason(name) or sales.save_lost_reason(actor, name=name)


def test_pipeline_win_rate_size_and_cycle(actor, org, at):
    at(dt.date(2025, 6, 1))
    pipe = sales.create_pipeline(
        actor,
        name="Reports test",
        stages=[{"name": "Discovery", "probability": 20}, {"name": "Offer", "probability": 60}],
    )
    discovery, offer = pipe.stages.order_by("position")

    def deal(title, value, stage, close=None):
        return sales.create_deal(
            actor,
            pipeline=pipe,
            stage=stage,
            title=title,
            value=value,
            currency="GBP",
            expected_close_date=close,
        )

    deal("A", "1000", discovery, dt.date(2025, 7, 15))
    deal("B", "2500.50", offer, dt.date(2025, 7, 31))
    deal("C", "333.33", offer)
    won_1 = deal("D", "4000", offer)
    lost = [deal(t, "100", discovery) for t in ("F", "G", "H")]
    at(dt.date(2025, 6, 5))
    won_2 = deal("E", "2000", offer)
    at(dt.date(2025, 6, 11))
    sales.win_deal(actor, won_1)  # 10 days
    at(dt.date(2025, 6, 20))
    for item, reason in zip(lost, ("Price", "Price", "Timing"), strict=True):
        sales.lose_deal(actor, item, _reason(actor, reason))
    at(dt.date(2025, 6, 25))
    sales.win_deal(actor, won_2)  # 20 days

    report = kpis(JUNE)["sales"]
    assert report["pipeline"] == [
        # July: 1000 + 2500.50; weighted 1000 × 20 % + 2500.50 × 60 % = 200 + 1500.30
        {
            "month": "2025-07",
            "currency": "GBP",
            "deals": 2,
            "value": Decimal("3500.50"),
            "weighted": Decimal("1700.30"),
        },
        # no date: 333.33 × 60 % = 199.998 → 200.00
        {
            "month": "none",
            "currency": "GBP",
            "deals": 1,
            "value": Decimal("333.33"),
            "weighted": Decimal("200.00"),
        },
    ]
    assert (report["won"], report["lost"], report["win_rate"]) == (2, 3, 0.4)
    assert report["average_deal_size"] == [{"currency": "GBP", "amount": Decimal("3000.00")}]
    assert report["sales_cycle_days"] == 15.0
    assert kpis(Filters(dt.date(2025, 5, 1), dt.date(2025, 5, 31)))["sales"]["won"] == 0
