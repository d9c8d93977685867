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


def test_period_days_are_the_organizations(actor, org, time_machine):
    """Europe/Berlin (CEST, UTC+2): 22:30 UTC on 31 May is 00:30 on 1 June there, so that lead
    is June's; 22:30 UTC on 30 June is already 1 July."""
    org.time_zone = "Europe/Berlin"
    org.save()
    time_machine.move_to(dt.datetime(2025, 7, 2, 12, tzinfo=dt.UTC))
    for index, received in enumerate(
        (
            dt.datetime(2025, 5, 31, 21, 30, tzinfo=dt.UTC),  # 23:30 on 31 May in Berlin
            dt.datetime(2025, 5, 31, 22, 30, tzinfo=dt.UTC),
            dt.datetime(2025, 6, 30, 21, 59, tzinfo=dt.UTC),  # 23:59 on 30 June
            dt.datetime(2025, 6, 30, 22, 30, tzinfo=dt.UTC),
        )
    ):
        result = capture_lead(
            actor,
            LeadInput(
                first_name=f"Tz{index}",
                last_name="Person",
                email=f"tz{index}@example.org",
                source="website",
                received_at=received,
                acknowledge=False,
                create_task=False,
            ),
        )
        Lead.objects.filter(pk=result.lead.pk).update(
            received_at=received, first_response_at=received + dt.timedelta(seconds=90 * index)
        )
    june = kpis(Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30)))["leads"]["response"]
    assert june["leads"] == 2
    assert june["median_seconds"] == 135.0  # 90 s and 180 s
