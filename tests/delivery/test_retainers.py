"""Retainers: a monthly period opens when its first day comes, once, announced for billing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from tests.delivery.fixtures import accept_proposal, sign
from throughline.core import scheduler
from throughline.core.models import DomainEvent
from throughline.delivery.models import Project
from throughline.delivery.services import retainers

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def retainer(actor, sales_actor, peter, org, run_jobs):
    with time_machine.travel(START, tick=False):
        proposal = accept_proposal(
            actor, sales_actor, peter, schedule={"kind": "retainer", "term_months": 3}
        )
        sign(actor, proposal)
        run_jobs()
    return Project.objects.get(proposal=proposal)


def sweep(at: dt.datetime, run_jobs) -> list[str]:
    with time_machine.travel(at, tick=False):
        names = scheduler.tick()
        run_jobs()
    return names


def test_retainer_project_opens_one_period_per_month_up_to_its_term(retainer, run_jobs):
    assert retainer.kind == "retainer"
    assert retainer.retainer_amount == Decimal("3800.00") and retainer.retainer_months == 3
    assert retainer.start_date == dt.date(2026, 1, 31)

    assert "delivery.retainer_periods" in sweep(START + dt.timedelta(hours=1), run_jobs)
    assert [p.number for p in retainer.periods.all()] == [1]
    first = retainer.periods.get()
    assert (first.starts_on, first.ends_on) == (dt.date(2026, 1, 31), dt.date(2026, 2, 27))

    # later the same month: nothing new, even when swept again
    sweep(dt.datetime(2026, 2, 20, 9, tzinfo=dt.UTC), run_jobs)
    assert retainer.periods.count() == 1

    # month ends are clamped (Jan 31 → Feb 28 → Mar 31)
    sweep(dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC), run_jobs)
    second = retainer.periods.get(number=2)
    assert (second.starts_on, second.ends_on) == (dt.date(2026, 2, 28), dt.date(2026, 3, 30))

    # after downtime the missed period opens once; the term (3 months) is never exceeded
    sweep(dt.datetime(2026, 9, 1, 9, tzinfo=dt.UTC), run_jobs)
    assert [p.number for p in retainer.periods.all()] == [1, 2, 3]

    events = DomainEvent.objects.filter(name="retainer.period_started").order_by("id")
    assert [e.payload["number"] for e in events] == [1, 2, 3]
    payload = events[0].payload
    assert payload["project_id"] == str(retainer.pk)
    assert payload["amount"] == "3800.00" and payload["currency"] == "GBP"
    assert payload["contact_id"] == str(retainer.contact_id)
    assert payload["starts_on"] == "2026-01-31" and payload["ends_on"] == "2026-02-27"


def test_opening_twice_opens_nothing_twice(retainer, actor):
    with time_machine.travel(START + dt.timedelta(days=40), tick=False):
        assert len(retainers.open_due_periods(actor)) == 2
        assert retainers.open_due_periods(actor) == []
    assert DomainEvent.objects.filter(name="retainer.period_started").count() == 2
