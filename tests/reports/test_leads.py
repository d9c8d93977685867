"""Lead response KPIs on hand-computed data.

Leads are captured through intake's ``capture_lead``; the first-response time is then set with
the ORM (in this test only): no intake service records a response at a past moment.
"""

from __future__ import annotations

import datetime as dt

import pytest

from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.models import Lead
from throughline.reports.kpis import kpis
from throughline.reports.kpis.filters import Filters

T0 = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.UTC)
# (source, seconds to first response or None)
DATA = [
    ("website", 60),
    ("website", 600),
    ("website", None),
    ("referral", 120),
    ("referral", 240),
    ("referral", 3600),
]


@pytest.fixture
def leads(actor, org, time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 20, 12, tzinfo=dt.UTC))
    made = []
    for index, (source, seconds) in enumerate(DATA):
        received = T0 + dt.timedelta(hours=index)
        result = capture_lead(
            actor,
            LeadInput(
                first_name=f"Lead{index}",
                last_name="Person",
                email=f"lead{index}@example.org",
                source=source,
                received_at=received,
                acknowledge=False,
                create_task=False,
            ),
        )
        Lead.objects.filter(pk=result.lead.pk).update(
            received_at=received,
            first_response_at=received + dt.timedelta(seconds=seconds) if seconds else None,
            sla_due_at=received + dt.timedelta(minutes=30),
            sla_breached_at=None,
        )
        made.append(result.lead)
    return made


def test_response_median_p90_and_share(leads):
    report = kpis(Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30)))["leads"]
    # Answered: 60, 120, 240, 600, 3600 s → median 240; p90 = ⌈0.9 × 5⌉ = 5th = 3600.
    assert report["response"] == {
        "leads": 6,
        "answered": 5,
        "median_seconds": 240.0,
        "p90_seconds": 3600.0,
        "within_5_min_share": 0.5,  # 60, 120, 240 of 6 leads
    }
    website = report["by_source"]["website"]
    assert (website["median_seconds"], website["p90_seconds"]) == (330.0, 600.0)
    assert website["within_5_min_share"] == 0.3333
    referral = report["by_source"]["referral"]
    assert (referral["median_seconds"], referral["p90_seconds"]) == (240.0, 3600.0)
    assert referral["within_5_min_share"] == 0.6667
    # Past the 30-minute SLA: the 3600 s answer and the unanswered lead.
    assert report["sla_breaches"] == 2
    assert report["funnel"]["by_source"]["website"]["leads"] == 3


def test_filters_by_source_and_period(leads):
    only_referral = kpis(Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30), source="referral"))
    assert only_referral["leads"]["response"]["leads"] == 3
    assert kpis(Filters(dt.date(2025, 5, 1), dt.date(2025, 5, 31)))["leads"] is None


def test_dashboard_shows_lead_figures_with_links(leads, client_as):
    html = client_as("owner").get("/reports/?from=2025-06-01&to=2025-06-30").content.decode()
    assert "Lead response" in html and "Funnel by source" in html
    link = (
        "/reports/records/leads/?from=2025-06-01&amp;to=2025-06-30&amp;source=website&amp;view=all"
    )
    assert link in html
    listing = client_as("owner").get(link.replace("&amp;", "&"))
    assert listing.status_code == 200
    assert "AR aging" not in html  # no invoices: the billing figures do not appear
