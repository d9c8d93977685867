"""Editing a workflow adds a version; a run keeps the version it started with."""

import copy
import datetime as dt

import time_machine
from django.utils import timezone

from throughline.automation.models import WorkflowRun
from throughline.automation.workflows import services
from throughline.crm.models import Task

DEFINITION = {
    "trigger": {"type": "event", "event": "contact.created"},
    "subject": "crm.contact",
    "steps": [
        {"id": "pause", "action": "wait", "params": {"days": 1}},
        {"id": "call", "action": "task.create", "params": {"title": "v1: call {{ subject }}"}},
    ],
}


def test_a_run_keeps_its_version_after_an_edit(actor, make_workflow, make_contact, run_jobs):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        workflow = make_workflow("call", **copy.deepcopy(DEFINITION))
        make_contact(first_name="Ada", email="ada@example.com")
        run_jobs()  # Ada's run waits a day, on version 1

        edited = copy.deepcopy(DEFINITION)
        edited["steps"][1]["params"]["title"] = "v2: call {{ subject }}"
        version = services.save_version(actor, workflow, edited, note="New wording")
        assert version.number == 2
        make_contact(first_name="Bob", email="bob@example.com")
        run_jobs()  # Bob's run starts on version 2

    with time_machine.travel(start + dt.timedelta(days=1, minutes=1), tick=False):
        run_jobs()

    assert sorted(Task.objects.values_list("title", flat=True)) == ["v1: call Ada", "v2: call Bob"]
    runs = {run.subject_repr: run.version.number for run in WorkflowRun.objects.all()}
    assert runs == {"Ada": 1, "Bob": 2}
    assert list(workflow.versions.values_list("number", flat=True)) == [2, 1]


def test_saving_an_unchanged_definition_adds_no_version(actor, make_workflow):
    workflow = make_workflow("call", **copy.deepcopy(DEFINITION))
    same = services.save_version(actor, workflow, copy.deepcopy(DEFINITION), name="Call them")
    assert same.number == 1
    workflow.refresh_from_db()
    assert workflow.name == "Call them"


def test_an_invalid_edit_keeps_the_current_version(actor, make_workflow):
    import pytest

    from throughline.automation.workflows.definition import DefinitionError

    workflow = make_workflow("call", **copy.deepcopy(DEFINITION))
    broken = copy.deepcopy(DEFINITION)
    broken["steps"][1]["action"] = "task.teleport"
    with pytest.raises(DefinitionError):
        services.save_version(actor, workflow, broken, name="Renamed")
    workflow.refresh_from_db()
    assert workflow.name == "Call" and workflow.current_version.number == 1
    assert workflow.versions.count() == 1
