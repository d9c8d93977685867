"""Schedules: cron in the organization's time zone; after downtime, one late run."""

import datetime as dt
import zoneinfo

import pytest
import time_machine

from throughline.automation.models import Notification, Workflow, WorkflowRun
from throughline.core import scheduler

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def paris(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=PARIS)


@pytest.fixture
def paris_org(org):
    org.time_zone = "Europe/Paris"
    org.save()
    return org


@pytest.fixture
def morning_digest(paris_org, make_workflow, owner):
    def make():
        return make_workflow(
            "digest",
            subject="",
            trigger={"type": "schedule", "cron": "0 9 * * 1-5"},
            steps=[
                {
                    "action": "user.notify",
                    "params": {"user": owner.email, "title": "Good morning", "email": False},
                }
            ],
        )

    return make


def _tick_and_run(run_jobs):
    scheduler.tick()
    run_jobs()


def test_runs_at_the_local_time_it_names(morning_digest, owner, run_jobs):
    with time_machine.travel(paris(2026, 3, 9, 8, 0), tick=False):  # Monday 08:00 Paris
        workflow = morning_digest()
        assert workflow.next_fire_at == paris(2026, 3, 9, 9, 0)  # 08:00 UTC
        _tick_and_run(run_jobs)
        assert not WorkflowRun.objects.exists()
    with time_machine.travel(paris(2026, 3, 9, 9, 0, 20), tick=False):
        _tick_and_run(run_jobs)
    run = WorkflowRun.objects.get()
    assert run.status == WorkflowRun.Status.SUCCEEDED
    assert run.trigger_key == f"schedule:{paris(2026, 3, 9, 9, 0).astimezone(dt.UTC).isoformat()}"
    assert Notification.objects.filter(user=owner, title="Good morning").count() == 1
    workflow.refresh_from_db()
    assert workflow.next_fire_at == paris(2026, 3, 10, 9, 0)


def test_after_downtime_a_due_schedule_runs_once_late(morning_digest, owner, run_jobs, caplog):
    with time_machine.travel(paris(2026, 3, 9, 8, 0), tick=False):
        morning_digest()
    # No worker ran from Monday 08:00 until Thursday 14:00: three 09:00 runs were missed.
    with time_machine.travel(paris(2026, 3, 12, 14, 0), tick=False):
        _tick_and_run(run_jobs)
        _tick_and_run(run_jobs)
    with time_machine.travel(paris(2026, 3, 12, 14, 5), tick=False):
        _tick_and_run(run_jobs)  # the next ticks find nothing due until Friday 09:00
    run = WorkflowRun.objects.get()  # once, not zero times and not three times
    expected_lateness = (paris(2026, 3, 12, 14, 0) - paris(2026, 3, 9, 9, 0)).total_seconds()
    assert run.lateness_seconds == pytest.approx(expected_lateness)
    workflow = Workflow.objects.get()
    assert workflow.last_lateness_seconds == pytest.approx(expected_lateness)
    assert workflow.next_fire_at == paris(2026, 3, 13, 9, 0)
    assert f"ran {expected_lateness:.0f} s late" in caplog.text
    assert Notification.objects.filter(user=owner).count() == 1

    with time_machine.travel(paris(2026, 3, 13, 9, 0, 30), tick=False):
        _tick_and_run(run_jobs)
    assert WorkflowRun.objects.count() == 2


def test_a_scheduled_workflow_about_records_runs_for_each_matching_one(
    paris_org, make_workflow, make_contact, run_jobs
):
    from throughline.crm.models import Task

    with time_machine.travel(paris(2026, 3, 9, 8, 0), tick=False):
        make_contact(first_name="Ada", email="ada@example.com")
        make_contact(first_name="Bob", email="bob@other.org")
        make_workflow(
            "weekly-check",
            trigger={"type": "schedule", "cron": "0 9 * * 1"},
            conditions={"all": [{"field": "email", "op": "contains", "value": "example.com"}]},
            steps=[
                {"action": "task.create", "params": {"title": "Weekly check-in: {{ subject }}"}}
            ],
        )
        run_jobs()
    with time_machine.travel(paris(2026, 3, 9, 9, 1), tick=False):
        _tick_and_run(run_jobs)
    assert list(Task.objects.values_list("title", flat=True)) == ["Weekly check-in: Ada"]


def test_switching_off_clears_the_schedule(morning_digest, actor):
    from throughline.automation.workflows import services

    with time_machine.travel(paris(2026, 3, 9, 8, 0), tick=False):
        workflow = morning_digest()
        services.set_active(actor, workflow, False)
        workflow.refresh_from_db()
        assert workflow.next_fire_at is None
        services.set_active(actor, workflow, True)
        workflow.refresh_from_db()
        assert workflow.next_fire_at == paris(2026, 3, 9, 9, 0)
