"""Delivery KPIs against a hand-computed fixture. Two projects are made the way the product makes
them (proposal accepted through sales, contract announced signed, project kicked off by
delivery's handler); milestones go through delivery's services and billing invoices them on
acceptance. The clock is frozen (time-machine) at each step.

Hand-computed, period March 2026, today 17 April 2026 (organization time zone UTC):
* A (created 2 Mar, signed 27 Feb): Discovery delivered 10 Mar, changes requested 11 Mar,
  delivered again 12 Mar 12:00, accepted and invoiced 13 Mar 12:00 → 1 revision, 24 h.
  Go-live due 16 Apr (the proposal's offset 45 days), not started → late.
* B (created 4 Mar, signed 3 Mar): Discovery delivered 16 Mar 09:00, accepted and invoiced
  12:00 → 0 revisions, 3 h. Go-live due 18 Apr → not late yet.
* Revisions: (1 + 0) / 2 = 0.5; distribution 0 → 1, 1 → 1.
* Signature → kick-off (no kick-off dates: creation day): A 3 days, B 1 day → median 2,
  p90 (nearest rank ⌈0.9 × 2⌉ = 2nd) 3.
* Completed → invoice sent: 24 h and 3 h → median 13.5 h.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.delivery.fixtures import *  # noqa: F403 - the project made as delivery makes it
from tests.delivery.fixtures import accept_proposal, sign
from throughline.core.actor import Actor
from throughline.delivery.models import Milestone, Project
from throughline.delivery.services import milestones
from throughline.delivery.services import templates as project_templates
from throughline.reports.kpis.delivery import delivery_kpis
from throughline.reports.kpis.filters import Filters
from throughline.signing.models import Contract

pytestmark = pytest.mark.django_db
MARCH = Filters(start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.fixture
def clock(time_machine):
    def move(when: dt.datetime):
        time_machine.move_to(when, tick=False)

    return move


def deliver(actor, milestone):
    milestone.refresh_from_db()
    if milestone.status == Milestone.Status.PLANNED:
        milestones.start(actor, milestone)
    milestones.submit_for_qa(actor, milestone)
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(actor, item)
    return milestones.deliver(actor, milestone)


def make_project(actor, sales_actor, contact, title, run_jobs, signed_at):
    proposal = accept_proposal(actor, sales_actor, contact, title=title)
    sign(actor, proposal)
    run_jobs()
    project = Project.objects.get(proposal=proposal)
    # signing's ceremony stamps the contract; the fixture only announces it, so set the time
    Contract.objects.filter(pk=project.contract_id).update(signed_at=signed_at)
    return project


@pytest.fixture
def history(actor, sales_actor, delivery_actor, peter, project_template, seller, run_jobs, clock):  # noqa: F811 - fixtures from tests.delivery.fixtures
    project_templates.set_default_template(actor, project_template)
    client = Actor.system(label="Peter")
    clock(utc(2026, 3, 2, 12))
    a = make_project(actor, sales_actor, peter, "Alpha", run_jobs, utc(2026, 2, 27, 16))
    clock(utc(2026, 3, 4, 12))
    b = make_project(actor, sales_actor, peter, "Beta", run_jobs, utc(2026, 3, 3, 9))

    a_discovery = a.milestones.get(title="Discovery")
    clock(utc(2026, 3, 10, 12))
    deliver(delivery_actor, a_discovery)
    clock(utc(2026, 3, 11, 12))
    milestones.request_changes(client, a_discovery, comment="Add the Berlin office")
    clock(utc(2026, 3, 12, 12))
    deliver(delivery_actor, a_discovery)
    clock(utc(2026, 3, 13, 12))
    milestones.accept(client, a_discovery)
    run_jobs()

    b_discovery = b.milestones.get(title="Discovery")
    clock(utc(2026, 3, 16, 9))
    deliver(delivery_actor, b_discovery)
    clock(utc(2026, 3, 16, 12))
    milestones.accept(client, b_discovery)
    run_jobs()
    clock(utc(2026, 4, 17, 12))
    return a, b


def test_no_projects_no_delivery_kpis(db):
    assert delivery_kpis(MARCH) is None


def test_delivery_kpis_match_the_hand_computed_figures(history):
    a, b = history
    assert a.milestones.get(title="Go-live").due_date == dt.date(2026, 4, 16)
    assert b.milestones.get(title="Go-live").due_date == dt.date(2026, 4, 18)
    figures = delivery_kpis(MARCH)
    assert figures["late"] == 1 and figures["late_projects"] == 1
    assert figures["revisions"] == {
        "milestones": 2,
        "average": 0.5,
        "distribution": [{"revisions": 0, "milestones": 1}, {"revisions": 1, "milestones": 1}],
    }
    assert figures["signature_to_kickoff"] == {"projects": 2, "median_days": 2, "p90_days": 3}
    assert figures["completed_to_invoice_sent"] == {"invoices": 2, "median_hours": 13.5}


def test_owner_filter_and_a_period_without_deliveries(history, users):
    other = Filters(start=MARCH.start, end=MARCH.end, owner=str(users["billing"].pk))
    figures = delivery_kpis(other)
    assert figures["late"] == 0
    assert figures["revisions"]["milestones"] == 0 and figures["revisions"]["average"] is None
    assert figures["signature_to_kickoff"]["median_days"] is None
    february = Filters(start=dt.date(2026, 2, 1), end=dt.date(2026, 2, 28))
    assert delivery_kpis(february)["completed_to_invoice_sent"] == {
        "invoices": 0,
        "median_hours": None,
    }


def test_dashboard_shows_delivery_and_late_milestones_drill_down(history, client_as):
    page = client_as("owner").get("/reports/?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="delivery"' in body and "Milestones late" in body and "13.5 h" in body
    late = client_as("owner").get("/reports/records/milestones/?view=late")
    assert late.status_code == 200
    text = late.content.decode()
    assert "Go-live" in text and "Alpha" in text and "Discovery" not in text
    bad = client_as("owner").get("/reports/records/milestones/?view=nope")
    assert bad.status_code == 400
    csv = client_as("owner").get(
        "/reports/records/milestones/?view=delivered&from=2026-03-01&to=2026-03-31&format=csv"
    )
    assert csv.status_code == 200
    rows = csv.content.decode().strip().splitlines()
    assert rows[0].startswith("Project,Milestone") and len(rows) == 3


def test_weekly_review_lists_the_milestones_due_this_week(history, actor, clock, client_as):
    from throughline.reports import review as reviews
    from throughline.reports.models import ReviewItem

    a, b = history
    # Monday 13 April: both Go-live milestones (Thu 16 and Sat 18 April) are due, not started
    clock(utc(2026, 4, 13, 9))
    review, created = reviews.create_review(actor)
    assert created
    due = review.items.filter(kind=ReviewItem.Kind.MILESTONE_DUE).order_by("label")
    assert [(i.label, i.detail) for i in due] == [
        ("Engagement Alpha for Initech: Go-live", "due 2026-04-16, planned"),
        ("Engagement Beta for Initech: Go-live", "due 2026-04-18, planned"),
    ]
    assert due[0].object_type == "delivery.milestone"
    assert due[0].url == f"/delivery/projects/{a.pk}/"
    assert review.snapshot["counts"]["milestone_due"] == 2
    digest = reviews.digest_context(review)
    assert "Milestones due this week: 2" in digest["summary_text"]
    page = client_as("owner").get(f"/reports/review/{review.pk}/").content.decode()
    assert "Engagement Beta for Initech: Go-live" in page

    # The week of 16 March: both Discovery milestones fell due, but are accepted: none listed
    clock(utc(2026, 3, 17, 9))
    past, _ = reviews.create_review(actor)
    assert past.snapshot["counts"]["milestone_due"] == 0
    assert not past.items.filter(kind=ReviewItem.Kind.MILESTONE_DUE).exists()


def test_api_kpis_carry_the_delivery_figures(history, api):
    body = api("owner").get("/api/v1/reports/kpis?from=2026-03-01&to=2026-03-31").json()
    assert body["delivery"]["late"] == 1
    assert body["delivery"]["signature_to_kickoff"]["p90_days"] == 3
    assert body["delivery"]["completed_to_invoice_sent"]["median_hours"] == 13.5
