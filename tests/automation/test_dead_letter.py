"""After its last attempt a step is dead-lettered: shown, admins alerted, retried from the UI."""

import pytest
from django_tasks_db.models import DBTaskResult

from throughline.automation import registry
from throughline.automation.models import Notification, StepRun, WorkflowRun
from throughline.core import jobs
from throughline.messaging.models import EmailTemplate, OutboundMessage


def test_a_permanent_failure_is_dead_lettered_alerted_and_retried(
    make_workflow, make_contact, welcome_template, users, client_as, smtp_server, run_jobs
):
    # given: the template the workflow sends is deleted after the workflow was saved
    make_workflow(
        "welcome",
        trigger={"type": "event", "event": "contact.created"},
        steps=[{"id": "hello", "action": "email.send", "params": {"template": "welcome"}}],
    )
    welcome_template.delete()

    # when
    ada = make_contact(first_name="Ada", email="ada@example.com")
    run_jobs()

    # then: dead at once (retrying cannot bring the template back), the run failed
    step = StepRun.objects.get(step_id="hello")
    assert step.status == StepRun.Status.DEAD and step.attempts == 1
    assert "No e-mail template 'welcome'" in step.error
    run = step.run
    assert run.status == WorkflowRun.Status.FAILED
    assert "dead-lettered" in run.status_reason
    assert DBTaskResult.objects.get(id=step.job_id).status == jobs.FAILED
    # owner and admin are told in the app and by e-mail; nobody else
    alerts = Notification.objects.filter(title__contains="failed")
    assert {n.user.role for n in alerts} == {"owner", "admin"}
    alerted = sorted(m["envelope"].rcpt_tos[0] for m in smtp_server.messages)
    assert alerted == ["adam@example.com", "olivia@example.com"]

    # the run log shows it, with a retry button for those who may retry
    page = client_as("admin").get(f"/automation/runs/{run.pk}/").content.decode()
    assert "Dead-lettered" in page and "Retry this step" in page
    assert (
        "Retry this step"
        not in client_as("sales").get(f"/automation/runs/{run.pk}/").content.decode()
    )
    listing = client_as("admin").get("/automation/runs/").content.decode()
    assert "Dead-lettered steps" in listing

    # a user without the permission cannot retry
    assert client_as("sales").post(f"/automation/steps/{step.pk}/retry/").status_code == 403

    # when: an admin fixes the cause and retries
    EmailTemplate.objects.create(key="welcome", name="Welcome", subject="Welcome!", body_text="Hi")
    response = client_as("admin").post(f"/automation/steps/{step.pk}/retry/")
    assert response.status_code == 302
    run_jobs()

    # then
    step.refresh_from_db()
    run.refresh_from_db()
    assert step.status == StepRun.Status.SUCCEEDED and step.error == ""
    assert run.status == WorkflowRun.Status.SUCCEEDED
    message = OutboundMessage.objects.get(contact=ada)
    assert message.status == OutboundMessage.Status.SENT
    assert DBTaskResult.objects.get(id=step.job_id).status == jobs.SUCCESSFUL


@pytest.fixture
def flaky_action(tmp_path):
    """An action whose receiving end is down until the test brings it back."""
    down = tmp_path / "down"
    down.write_text("1")

    def call(ctx, params):
        if down.exists():
            raise ConnectionError("the receiving end is down")
        return {"delivered": True}

    registry.register_action("test.flaky", (), call, label="Flaky")
    yield down
    registry._actions.pop("test.flaky")


def test_transient_failures_are_retried_then_dead_lettered(
    make_workflow, make_contact, flaky_action, settings, run_jobs, actor
):
    from throughline.automation.workflows import engine

    settings.AUTOMATION_STEP_MAX_ATTEMPTS = 3
    settings.JOB_BACKOFF_BASE_SECONDS = (
        0  # retries are due at once; backoff is core's (tested there)
    )
    make_workflow(
        "flaky",
        trigger={"type": "event", "event": "contact.created"},
        steps=[{"id": "call", "action": "test.flaky"}],
    )
    make_contact(first_name="Ada", email="ada@example.com")
    run_jobs()
    step = StepRun.objects.get(step_id="call")
    assert step.status == StepRun.Status.DEAD and step.attempts == 3
    assert "ConnectionError: the receiving end is down" in step.error
    assert Notification.objects.filter(title__contains="failed").count() == 2

    flaky_action.unlink()  # the receiving end is back
    engine.retry_step(actor, step.pk)
    run_jobs()
    step.refresh_from_db()
    assert step.status == StepRun.Status.SUCCEEDED and step.attempts == 1
    assert step.output == {"delivered": True}
