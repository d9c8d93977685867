"""A step whose job is delivered twice has its effect once."""

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from throughline.automation.models import StepRun
from throughline.automation.workflows import engine
from throughline.core import jobs
from throughline.crm.models import Task
from throughline.messaging.models import OutboundMessage


@pytest.fixture
def pending_step(make_workflow, make_contact, welcome_template, run_queue):
    """A run whose first step's job is queued but has not run yet."""
    make_workflow(
        "welcome",
        trigger={"type": "event", "event": "contact.created"},
        steps=[
            {"id": "call", "action": "task.create", "params": {"title": "Call {{ subject }}"}},
            {"id": "hello", "action": "email.send", "params": {"template": "welcome"}},
        ],
    )
    make_contact(first_name="Ada", email="ada@example.com")
    run_queue("events")  # the trigger runs; the steps' jobs stay queued
    step = StepRun.objects.get(step_id="call")
    assert step.status == StepRun.Status.PENDING
    return step


def test_a_duplicated_delivery_after_success_changes_nothing(pending_step, smtp_server, run_jobs):
    run_jobs()
    # At-least-once delivery: both steps' jobs arrive a second time.
    with transaction.atomic():
        for step in StepRun.objects.all():
            engine.run_step.enqueue(step.pk)
    run_jobs()
    assert Task.objects.count() == 1
    assert OutboundMessage.objects.count() == 1
    assert len(smtp_server.messages) == 1
    assert DBTaskResult.objects.filter(status=jobs.FAILED).count() == 0
    outcomes = [r.return_value for r in DBTaskResult.objects.filter(task_path__endswith="run_step")]
    assert sorted(outcomes) == ["already succeeded", "already succeeded", "done", "done"]


def test_overlapping_deliveries_run_the_effect_once(pending_step, run_queue):
    # given: delivery 1 claimed the step (its attempt is committed) and then stalls
    first = engine._begin_attempt(pending_step.pk)
    assert first == 1
    # when: a second delivery of the same job runs to the end meanwhile
    with transaction.atomic():
        engine.run_step.enqueue(pending_step.pk)
    run_queue("default")
    # ... and delivery 1 resumes
    outcome = engine._execute(pending_step.pk, first)
    # then: the effect exists once; delivery 1 saw it was superseded
    assert outcome.startswith("superseded")
    assert Task.objects.filter(title="Call Ada").count() == 1
    pending_step.refresh_from_db()
    assert pending_step.status == StepRun.Status.SUCCEEDED and pending_step.attempts == 2


def test_a_failed_attempt_leaves_no_effect(pending_step, owner, run_jobs, settings):
    """The effect and the step's status commit together: a failure rolls back both."""
    settings.JOB_BACKOFF_BASE_SECONDS = 0
    owner.is_active = False  # the task's owner: crm refuses a deactivated owner
    owner.save()
    pending_step.input = {"title": "Call Ada", "owner": owner.email}
    pending_step.save()
    run_jobs()
    pending_step.refresh_from_db()
    assert pending_step.status == StepRun.Status.DEAD  # a validation error: permanent
    assert not Task.objects.exists()
