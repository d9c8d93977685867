"""Absence: "a task created and not completed within 2 business days" → tell its owner."""

import pytest
import time_machine

from tests.automation.conftest import london
from throughline.automation.models import AbsenceWatch, Notification, WorkflowRun
from throughline.automation.tasks import fire_absences
from throughline.core import scheduler
from throughline.crm import services as crm


@pytest.fixture
def stale_task_workflow(london_org, make_workflow):
    return make_workflow(
        "stale-task",
        subject="crm.task",
        trigger={
            "type": "absence",
            "event": "task.created",
            "missing": "task.completed",
            "business_days": 2,
        },
        steps=[
            {
                "action": "user.notify",
                "params": {
                    "user": "subject_owner",
                    "title": "Still open: {{ subject.title }}",
                    "email": False,
                },
            }
        ],
    )


def _sweep():
    """What the workers do every minute: the scheduler tick enqueues the sweep, a worker runs it."""
    assert "automation.absences" in scheduler.tick()


def test_fires_when_the_awaited_event_does_not_come(stale_task_workflow, actor, owner, run_jobs):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):  # Friday
        task = crm.create_task(actor, title="Send the quote", owner=owner)
        run_jobs()
        watch = AbsenceWatch.objects.get()
        assert watch.due_at == london(2026, 3, 10, 16, 0)  # Tuesday 16:00

    with time_machine.travel(london(2026, 3, 10, 15, 58), tick=False):
        _sweep()
        run_jobs()
        assert not WorkflowRun.objects.exists()

    with time_machine.travel(london(2026, 3, 10, 16, 1), tick=False):
        _sweep()
        run_jobs()
    run = WorkflowRun.objects.get()
    assert run.subject_id == str(task.pk) and run.status == WorkflowRun.Status.SUCCEEDED
    notification = Notification.objects.get(user=owner)
    assert notification.title == "Still open: Send the quote"
    assert AbsenceWatch.objects.get().status == AbsenceWatch.Status.FIRED


def test_does_not_fire_when_the_awaited_event_comes(stale_task_workflow, actor, owner, run_jobs):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):
        task = crm.create_task(actor, title="Send the quote", owner=owner)
        run_jobs()
    with time_machine.travel(london(2026, 3, 9, 11, 0), tick=False):  # Monday: done in time
        crm.complete_task(actor, task)
        run_jobs()
        assert AbsenceWatch.objects.get().status == AbsenceWatch.Status.CANCELLED
    with time_machine.travel(london(2026, 3, 12, 9, 0), tick=False):
        _sweep()
        run_jobs()
    assert not WorkflowRun.objects.exists()
    assert not Notification.objects.exists()


def test_the_awaited_event_counts_even_when_handled_before_the_first(
    stale_task_workflow, actor, owner, run_jobs
):
    # Both events are in the outbox before any handler ran; handlers may run in any order.
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):
        task = crm.create_task(actor, title="Send the quote", owner=owner)
        crm.complete_task(actor, task)
        run_jobs()
    with time_machine.travel(london(2026, 3, 12, 9, 0), tick=False):
        fire_absences.call()
    assert not WorkflowRun.objects.exists()
    assert AbsenceWatch.objects.get().status == AbsenceWatch.Status.CANCELLED


def test_an_event_that_comes_too_late_does_not_count(stale_task_workflow, actor, owner, run_jobs):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):
        task = crm.create_task(actor, title="Send the quote", owner=owner)
        run_jobs()
    # The worker was down over the due time; the task was completed on Wednesday, too late.
    with time_machine.travel(london(2026, 3, 11, 10, 0), tick=False):
        crm.complete_task(actor, task)
        fire_absences.call()
        run_jobs()
    run = WorkflowRun.objects.get()
    assert run.lateness_seconds == pytest.approx(18 * 3600, abs=1)
