"""KPIs by area; ``kpis(period)`` assembles the ones whose data exists."""

from __future__ import annotations

from throughline.reports.kpis import billing, clients, delivery, leads, sales
from throughline.reports.kpis.filters import Filters


def kpis(filters: Filters) -> dict:
    return {
        "from": filters.start,
        "to": filters.end,
        "leads": leads.lead_kpis(filters),
        "sales": sales.sales_kpis(filters),
        "billing": billing.billing_kpis(filters),
        "delivery": delivery.delivery_kpis(filters),
        "clients": clients.client_tables(filters),
    }
