"""A dry run shows what would happen for one record, and changes nothing."""

import time_machine
from django_tasks_db.models import DBTaskResult

from tests.automation.conftest import london
from throughline.automation.models import Notification, StepRun, WorkflowRun
from throughline.automation.workflows.dry_run import dry_run
from throughline.core.models import AuditEntry, DomainEvent
from throughline.crm.models import Task
from throughline.messaging.models import OutboundMessage

TABLES = (
    Task,
    OutboundMessage,
    WorkflowRun,
    StepRun,
    Notification,
    AuditEntry,
    DomainEvent,
    DBTaskResult,
)


def _counts():
    return {model.__name__: model.objects.count() for model in TABLES}


def test_dry_run_evaluates_and_lists_without_side_effects(
    london_org, make_workflow, make_contact, welcome_template, size_field, client_as, run_jobs
):
    with time_machine.travel(london(2026, 3, 6, 16, 0), tick=False):  # Friday 16:00
        workflow = make_workflow(
            "welcome",
            trigger={"type": "event", "event": "contact.created"},
            conditions={
                "any": [
                    {"all": [{"field": "custom.size", "op": "gt", "value": 10}]},
                    {"all": [{"field": "email", "op": "contains", "value": "@vip.example"}]},
                ]
            },
            steps=[
                {"id": "hello", "action": "email.send", "params": {"template": "welcome"}},
                {"id": "pause", "action": "wait", "params": {"business_days": 2}},
                {
                    "id": "call",
                    "action": "task.create",
                    "params": {"title": "Call {{ subject.first_name }}"},
                },
            ],
        )
        ada = make_contact(first_name="Ada", email="ada@example.com", custom={"size": 50})
        small = make_contact(first_name="Sam", email="sam@example.com", custom={"size": 2})
        run_jobs()
        before = _counts()

        report = dry_run(workflow.current_version.definition, ada)
        assert report.matched
        [group_one, group_two] = report.explanation.children
        assert group_one.result and group_one.children[0].actual == "50"
        assert not group_two.result
        assert [s.description for s in report.steps] == [
            "Send “welcome” to the contact",
            "Wait 2 business day(s)",
            "Create the task “Call Ada”",
        ]
        assert report.steps[2].at == london(2026, 3, 10, 16, 0)  # after the wait: Tuesday
        assert not dry_run(workflow.current_version.definition, small).matched

        response = client_as("viewer").get(
            f"/automation/workflows/{workflow.pk}/dry-run/", {"record": str(ada.pk)}
        )
        assert response.status_code == 200
        page = response.content.decode()
        assert "would run" in page and "Create the task “Call Ada”" in page

        assert _counts() == before
