"""Invalid definitions and imports are refused with a message naming the problem; nothing saves."""

import json

import pytest

from throughline.automation.models import Workflow, WorkflowVersion
from throughline.automation.workflows import services
from throughline.automation.workflows.definition import DefinitionError, validate_definition

GOOD = {
    "trigger": {"type": "event", "event": "contact.created"},
    "subject": "crm.contact",
    "steps": [{"id": "call", "action": "task.create", "params": {"title": "Call {{ subject }}"}}],
}


def _with(**changes):
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        (
            _with(trigger={"type": "event", "event": "contact.teleported"}),
            "trigger.event: unknown event 'contact.teleported'",
        ),
        (_with(trigger={"type": "sometimes"}), "trigger.type: unknown trigger type 'sometimes'"),
        (
            _with(trigger={"type": "schedule", "cron": "every day"}),
            "trigger.cron: 'every day' is not a cron expression",
        ),
        (
            _with(
                trigger={
                    "type": "absence",
                    "event": "task.created",
                    "missing": "task.created",
                    "business_days": 2,
                }
            ),
            "trigger.missing: must differ from trigger.event",
        ),
        (
            _with(
                trigger={
                    "type": "absence",
                    "event": "task.created",
                    "missing": "task.completed",
                    "business_days": "2",
                }
            ),
            "trigger.business_days: a whole number from 1 to 260, not '2'",
        ),
        (_with(subject="crm.unicorn"), "subject: unknown subject type 'crm.unicorn'"),
        (
            _with(steps=[{"action": "rocket.launch"}]),
            "steps[0].action: unknown action 'rocket.launch'",
        ),
        (_with(steps=[]), "steps: give at least one step"),
        (
            _with(steps=[{"action": "task.create", "params": {"title": "x", "colour": "red"}}]),
            "steps[0].params.colour: unknown parameter for 'task.create'",
        ),
        (
            _with(
                steps=[
                    {
                        "action": "task.create",
                        "params": {"title": "x", "due_in_business_days": "soon"},
                    }
                ]
            ),
            "steps[0].params.due_in_business_days: must be a whole number, not 'soon'",
        ),
        (_with(steps=[{"action": "task.create", "params": {}}]), "steps[0].params.title: required"),
        (
            _with(steps=[{"action": "email.send", "params": {"template": "nope"}}]),
            "steps[0].params.template: no e-mail template 'nope'",
        ),
        (
            _with(steps=[{"action": "wait", "params": {"days": 1, "business_days": 2}}]),
            "steps[0].params: give a duration, business days, or a date field to wait until",
        ),
        (
            _with(steps=[{"action": "wait", "params": {"until_field": "first_name"}}]),
            "steps[0].params.until_field: 'first_name' is not a date field",
        ),
        (
            _with(conditions={"all": [{"field": "shoe_size", "op": "eq", "value": 42}]}),
            "conditions.all[0].field: unknown field 'shoe_size'",
        ),
        (
            _with(conditions={"all": [{"field": "email", "op": "gt", "value": 3}]}),
            "conditions.all[0].op: 'gt' needs a number or date field; 'email' is text",
        ),
        (
            _with(conditions={"all": [{"field": "created_at", "op": "lt", "value": "yesterday"}]}),
            "conditions.all[0].value: 'created_at' expects a date and time (ISO 8601), not 'yesterday'",
        ),
        (
            _with(conditions={"any": [{"all": [{"any": [{"all": [{"any": []}]}]}]}]}),
            "conditions are nested deeper than 4 levels",
        ),
        (
            _with(
                steps=[
                    {"id": "same", "action": "task.create", "params": {"title": "a"}},
                    {"id": "same", "action": "task.create", "params": {"title": "b"}},
                ]
            ),
            "steps[1].id: 'same' is used by another step",
        ),
        # Without a condition, a task.created workflow that creates tasks would never stop.
        (
            _with(
                subject="crm.task",
                trigger={"type": "event", "event": "task.created"},
                steps=[{"action": "task.create", "params": {"title": "Again"}}],
            ),
            "cycle: (this workflow) → task.created → (this workflow) would run forever",
        ),
    ],
)
def test_invalid_definitions_name_the_problem(db, definition, problem):
    with pytest.raises(DefinitionError) as caught:
        validate_definition(definition)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_a_cycle_through_another_workflow_is_refused(make_workflow):
    # contact.updated → task.create (task.created) → a workflow owning contacts on task.created
    # that changes the contact (contact.updated): a loop of two workflows without conditions.
    make_workflow(
        "task-to-contact",
        subject="crm.contact",
        trigger={"type": "event", "event": "task.created"},
        steps=[{"action": "owner.assign", "params": {"user": "olivia@example.com"}}],
    )
    with pytest.raises(DefinitionError) as caught:
        validate_definition(
            {
                "trigger": {"type": "event", "event": "contact.updated"},
                "subject": "crm.contact",
                "steps": [{"action": "task.create", "params": {"title": "Check"}}],
            },
            workflow_key="contact-to-task",
        )
    assert caught.value.problems == [
        "cycle: contact-to-task → task.created → task-to-contact → contact.updated → "
        "contact-to-task would run forever; add a condition that stops it, or change a step"
    ]


def _export(key, definition, name="Imported"):
    return {"format": "throughline.workflow/1", "key": key, "name": name, "definition": definition}


def test_an_invalid_import_is_refused_and_nothing_is_saved(actor):
    bad = _with(steps=[{"action": "task.create", "params": {"title": "x"}}, {"action": "fax.send"}])
    payload = json.dumps({"workflows": [_export("good-one", GOOD), _export("bad-one", bad)]})
    with pytest.raises(DefinitionError) as caught:
        services.import_workflows(actor, payload)
    assert caught.value.problems == [
        "workflow 'bad-one': steps[1].action: unknown action 'fax.send'"
    ]
    assert not Workflow.objects.exists()
    assert not WorkflowVersion.objects.exists()


def test_import_refuses_garbage_with_a_reason(actor):
    with pytest.raises(DefinitionError) as caught:
        services.import_workflows(actor, b'{"key": "x", "definition": ')
    assert caught.value.problems[0].startswith("file: not valid JSON (Expecting value at line 1")
    with pytest.raises(DefinitionError) as caught:
        services.import_workflows(actor, b'{"key": "Not A Slug", "name": "x", "definition": {}}')
    assert "key: use lower-case letters" in caught.value.problems[0]


def test_export_then_import_round_trips(actor, make_workflow):
    workflow = make_workflow("welcome", **GOOD)
    exported = services.export_json([workflow])
    # Importing onto the same key adds nothing when the definition is unchanged.
    [(same, outcome)] = services.import_workflows(actor, exported)
    assert same == workflow and outcome == "version 1"
    changed = json.loads(exported)
    changed["definition"]["steps"][0]["params"]["title"] = "Ring {{ subject }}"
    [(same, outcome)] = services.import_workflows(actor, json.dumps(changed))
    assert outcome == "version 2"
    renamed = {**changed, "key": "welcome-copy"}
    [(copy, outcome)] = services.import_workflows(actor, json.dumps(renamed))
    same.refresh_from_db()
    assert (
        outcome == "created" and copy.current_version.definition == same.current_version.definition
    )


def test_the_import_page_shows_the_problem_and_saves_nothing(client_as):
    client = client_as("admin")
    payload = json.dumps(_export("x", _with(trigger={"type": "event", "event": "lead.teleported"})))
    response = client.post("/automation/workflows/import/", {"json": payload})
    assert response.status_code == 200
    assert "Nothing was imported" in response.content.decode()
    assert "trigger.event: unknown event &#x27;lead.teleported&#x27;" in response.content.decode()
    assert not Workflow.objects.exists()
