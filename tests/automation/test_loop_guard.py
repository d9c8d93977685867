"""Loop guard: chains of workflows triggering one another stop; so do runaway subjects."""

from throughline.automation.models import CausedEvent, Notification, WorkflowRun
from throughline.automation.workflows.definition import max_chain_depth
from throughline.crm import services as crm
from throughline.crm.models import Task


def test_a_workflow_that_retriggers_itself_is_stopped(make_workflow, actor, users, run_jobs):
    # given: every "Follow up" task creates another one. The condition lets it be saved (a
    # condition could end the loop); here it never does.
    workflow = make_workflow(
        "echo",
        subject="crm.task",
        trigger={"type": "event", "event": "task.created"},
        conditions={"all": [{"field": "title", "op": "contains", "value": "follow up"}]},
        steps=[{"action": "task.create", "params": {"title": "Follow up again"}}],
    )

    # when
    crm.create_task(actor, title="Follow up with Ada")
    run_jobs()

    # then: the chain stopped at the limit; the last trigger got a blocked run
    limit = max_chain_depth()
    runs = WorkflowRun.objects.filter(workflow=workflow).order_by("depth")
    assert [r.depth for r in runs] == list(range(limit + 1))
    blocked = runs.last()
    assert blocked.status == WorkflowRun.Status.BLOCKED
    assert "Loop guard" in blocked.status_reason and not blocked.steps.exists()
    assert all(r.status == WorkflowRun.Status.SUCCEEDED for r in runs[:limit])
    assert Task.objects.count() == 1 + limit
    assert CausedEvent.objects.count() == limit
    admins = {users["owner"], users["admin"]}
    alerted = {n.user for n in Notification.objects.filter(title__contains="loop guard")}
    assert alerted == admins


def test_too_many_runs_for_one_record_in_an_hour_are_stopped(
    make_workflow, make_contact, actor, run_jobs, settings
):
    settings.AUTOMATION_MAX_RUNS_PER_SUBJECT_PER_HOUR = 3
    workflow = make_workflow(
        "on-edit",
        trigger={"type": "event", "event": "contact.updated"},
        steps=[
            {"action": "user.notify", "params": {"title": "{{ subject }} changed", "email": False}}
        ],
    )
    ada = make_contact(first_name="Ada", email="ada@example.com")
    for n in range(5):
        ada = crm.update_contact(actor, ada, title=f"Engineer {n}")
    run_jobs()
    statuses = list(
        WorkflowRun.objects.filter(workflow=workflow)
        .order_by("created_at")
        .values_list("status", flat=True)
    )
    assert statuses.count(WorkflowRun.Status.SUCCEEDED) == 3
    assert statuses.count(WorkflowRun.Status.BLOCKED) == 2
