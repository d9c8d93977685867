"""Business days from the organization's working hours and time zone; waits that use them."""

import datetime as dt

import pytest
import time_machine

from tests.automation.conftest import london
from throughline.automation.business_days import Calendar
from throughline.automation.models import StepRun, WorkflowRun
from throughline.crm.models import Task


@pytest.fixture
def calendar(london_org):
    return Calendar.for_organization(london_org)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        # Friday 16:00 + 2 business days: over the weekend to Tuesday, same time of day.
        (london(2026, 3, 6, 16, 0), 2, london(2026, 3, 10, 16, 0)),
        (london(2026, 3, 6, 16, 0), 1, london(2026, 3, 9, 16, 0)),
        # A start outside working hours counts from the next opening.
        (london(2026, 3, 7, 10, 0), 1, london(2026, 3, 10, 9, 0)),  # Saturday
        (london(2026, 3, 9, 7, 30), 1, london(2026, 3, 10, 9, 0)),  # Monday before opening
        (london(2026, 3, 9, 18, 0), 1, london(2026, 3, 11, 9, 0)),  # Monday after closing
        (london(2026, 3, 6, 16, 0), 0, london(2026, 3, 6, 16, 0)),
        # Across the change to summer time (29 March 2026): local time of day is kept.
        (london(2026, 3, 27, 10, 0), 1, london(2026, 3, 30, 10, 0)),
    ],
)
def test_add_business_days(calendar, start, days, expected):
    assert calendar.add_business_days(start, days) == expected


def test_working_hours_decide_which_days_count(london_org):
    london_org.working_hours = {"1": ["09:00", "13:00"], "3": ["09:00", "13:00"]}  # Mon, Wed
    london_org.save()
    calendar = Calendar.for_organization(london_org)
    # Monday 12:00 + 1 → Wednesday 12:00; + 2 → next Monday 12:00.
    assert calendar.add_business_days(london(2026, 3, 9, 12), 1) == london(2026, 3, 11, 12)
    assert calendar.add_business_days(london(2026, 3, 9, 12), 2) == london(2026, 3, 16, 12)
    # Friday is closed: counting starts at Monday's opening.
    assert calendar.add_business_days(london(2026, 3, 6, 15), 1) == london(2026, 3, 11, 9)
    # Monday 12:30 + 1 → Wednesday 12:30, inside Wednesday's hours.
    assert calendar.add_business_days(london(2026, 3, 9, 12, 30), 1) == london(2026, 3, 11, 12, 30)


def test_the_time_zone_is_the_organizations(london_org):
    calendar = Calendar.for_organization(london_org)
    # 16:30 UTC on a Friday in winter is 16:30 in London: still open, Tuesday 16:30 London.
    friday = dt.datetime(2026, 1, 9, 16, 30, tzinfo=dt.UTC)
    assert calendar.add_business_days(friday, 2) == london(2026, 1, 13, 16, 30)


def test_a_wait_of_two_business_days_from_friday_afternoon_ends_on_tuesday(
    london_org, make_workflow, make_contact, run_jobs
):
    make_workflow(
        "follow-up",
        trigger={"type": "event", "event": "contact.created"},
        steps=[
            {"id": "pause", "action": "wait", "params": {"business_days": 2}},
            {"id": "call", "action": "task.create", "params": {"title": "Follow up {{ subject }}"}},
        ],
    )
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):  # Friday 16:00
        make_contact(first_name="Ada", email="ada@example.com")
        run_jobs()
        wait = StepRun.objects.get(step_id="pause")
        assert wait.status == StepRun.Status.WAITING
        assert wait.scheduled_for == london(2026, 3, 10, 16, 0)  # Tuesday 16:00
        assert WorkflowRun.objects.get().status == WorkflowRun.Status.WAITING

    with time_machine.travel(london(2026, 3, 10, 15, 59), tick=False):  # Tuesday 15:59
        run_jobs()
        assert not Task.objects.exists()

    with time_machine.travel(london(2026, 3, 10, 16, 0), tick=False):
        run_jobs()
        assert Task.objects.get().title == "Follow up Ada"
        wait.refresh_from_db()
        assert wait.status == StepRun.Status.SUCCEEDED
        assert WorkflowRun.objects.get().status == WorkflowRun.Status.SUCCEEDED


def test_a_wait_that_fell_due_during_downtime_runs_once_late(
    london_org, make_workflow, make_contact, run_jobs, caplog
):
    make_workflow(
        "follow-up",
        trigger={"type": "event", "event": "contact.created"},
        steps=[
            {"id": "pause", "action": "wait", "params": {"hours": 1}},
            {"id": "call", "action": "task.create", "params": {"title": "Call {{ subject }}"}},
        ],
    )
    with time_machine.travel(london(2026, 3, 9, 10, 0), tick=False):
        make_contact(first_name="Ada", email="ada@example.com")
        run_jobs()
    # No worker ran for two days.
    with time_machine.travel(london(2026, 3, 11, 11, 0), tick=False):
        run_jobs()
        run_jobs()
    assert Task.objects.count() == 1
    wait = StepRun.objects.get(step_id="pause")
    assert wait.lateness_seconds == pytest.approx(2 * 86400, abs=1)
    assert wait.output["late_by_seconds"] == pytest.approx(2 * 86400, abs=1)
    assert "ended 172800 s late" in caplog.text


def test_wait_until_a_date_field(london_org, make_workflow, make_contact, run_jobs):
    from throughline.crm.models import CustomFieldDefinition

    CustomFieldDefinition.objects.create(
        entity="contact", key="renewal", label="Renewal", kind="date"
    )
    make_workflow(
        "renewal",
        trigger={"type": "event", "event": "contact.created"},
        steps=[
            {
                "action": "wait",
                "params": {"until_field": "custom.renewal", "offset_days": -7, "at": "10:00"},
            },
            {"action": "task.create", "params": {"title": "Renewal call"}},
        ],
    )
    with time_machine.travel(london(2026, 3, 2, 9, 0), tick=False):
        make_contact(first_name="Ada", email="ada@example.com", custom={"renewal": "2026-04-01"})
        run_jobs()
        assert StepRun.objects.get(index=0).scheduled_for == london(2026, 3, 25, 10, 0)
    with time_machine.travel(london(2026, 3, 25, 10, 0), tick=False):
        run_jobs()
    assert Task.objects.filter(title="Renewal call").count() == 1
