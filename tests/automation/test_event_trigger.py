"""An event starts a workflow; its conditions pick the records; its steps act through services."""

from throughline.automation.models import StepRun, WorkflowRun
from throughline.crm.models import Task
from throughline.messaging.models import OutboundMessage


def test_event_conditions_task_and_email_reach_the_smtp_server(
    make_workflow, make_contact, welcome_template, size_field, smtp_server, run_jobs
):
    # given: new contacts at example.com with more than 10 people get a call task and a welcome
    workflow = make_workflow(
        "welcome",
        trigger={"type": "event", "event": "contact.created"},
        conditions={
            "all": [
                {"field": "email", "op": "contains", "value": "@example.com"},
                {"field": "custom.size", "op": "gt", "value": 10},
            ]
        },
        steps=[
            {
                "id": "call",
                "action": "task.create",
                "params": {"title": "Call {{ subject.first_name }}", "due_in_business_days": 1},
            },
            {"id": "hello", "action": "email.send", "params": {"template": "welcome"}},
        ],
    )

    # when: one contact matches and one does not
    ada = make_contact(first_name="Ada", email="ada@example.com", custom={"size": 25})
    make_contact(first_name="Bob", email="bob@example.com", custom={"size": 3})
    assert smtp_server.messages == []  # nothing happens before the jobs run
    run_jobs()

    # then: one run, a task for Ada's owner, the e-mail accepted by the SMTP server
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.status == WorkflowRun.Status.SUCCEEDED
    assert run.subject_id == str(ada.pk) and run.version == workflow.current_version
    task = Task.objects.get(contact=ada)
    assert task.title == "Call Ada"
    assert task.owner == ada.owner and task.due_at is not None
    assert task.source == f"automation.run:{run.pk}"
    assert not Task.objects.exclude(contact=ada).exists()
    [received] = smtp_server.messages
    assert received["envelope"].rcpt_tos == ["ada@example.com"]
    assert received["message"]["Subject"] == "Welcome, Ada"
    message = OutboundMessage.objects.get()
    assert message.status == OutboundMessage.Status.SENT
    steps = list(run.steps.order_by("index"))
    assert [s.status for s in steps] == [StepRun.Status.SUCCEEDED] * 2
    assert steps[0].input["title"] == "Call Ada"  # merge fields filled in, recorded
    assert steps[0].output["task_id"] == str(task.pk)
    assert steps[1].output["message_id"] == str(message.pk)
    assert message.idempotency_key == steps[1].idempotency_key
    assert all(s.started_at and s.finished_at for s in steps)


def test_an_inactive_workflow_does_nothing(make_workflow, make_contact, run_jobs):
    make_workflow(
        "off",
        active=False,
        trigger={"type": "event", "event": "contact.created"},
        steps=[{"action": "task.create", "params": {"title": "Never"}}],
    )
    make_contact(first_name="Ada", email="ada@example.com")
    run_jobs()
    assert not WorkflowRun.objects.exists()
    assert not Task.objects.exists()


def test_an_event_on_a_related_record_reaches_the_contact_workflow(
    make_workflow, make_contact, actor, run_jobs
):
    from throughline.crm import services as crm

    ada = make_contact(first_name="Ada", email="ada@example.com")
    run_jobs()
    workflow = make_workflow(
        "on-call",
        trigger={"type": "event", "event": "activity.logged"},
        conditions={"all": [{"field": "event.kind", "op": "eq", "value": "call"}]},
        steps=[
            {"action": "task.create", "params": {"title": "Write up the call with {{ subject }}"}}
        ],
    )
    crm.log_activity(actor, kind="call", contact=ada, subject="Intro call")
    crm.log_activity(actor, kind="note", contact=ada, body="Just a note")
    run_jobs()
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.subject_type == "crm.contact" and run.subject_id == str(ada.pk)
    assert Task.objects.filter(title="Write up the call with Ada").count() == 1
