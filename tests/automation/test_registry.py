"""Subjects other apps have not registered get a plain one; related records are found by FK."""

from throughline.automation import registry
from throughline.automation.generic_subjects import derive
from throughline.automation.models import WorkflowRun
from throughline.crm import services as crm
from throughline.crm.models import Task


def test_a_derived_subject_has_plain_fields_contact_and_owner(actor, make_contact):
    subject = derive("crm.task", "Task", Task)
    assert subject.fields["title"].type == "text"
    assert subject.fields["due_at"].type == "datetime"
    assert subject.fields["owner"].type == "user"
    assert "id" not in subject.fields
    ada = make_contact(first_name="Ada", email="ada@example.com")
    task = crm.create_task(actor, title="Call", contact=ada)
    assert subject.contact_of(task) == ada and subject.owner_of(task) == actor.user


def test_apps_with_their_own_records_extend_the_registry():
    # Every registered action has a label and only known parameter types.
    for name, action in registry.actions().items():
        assert action.label, name
        assert all(p.type in registry.PARAM_TYPES for p in action.params), name
    assert {"email.send", "task.create", "owner.assign", "field.set", "wait"} <= set(
        registry.actions()
    )
    assert {"crm.contact", "crm.company", "crm.task"} <= set(registry.subject_types())


def test_an_event_reaches_a_workflow_about_the_record_it_points_to(
    actor, make_workflow, make_contact, run_jobs
):
    company = crm.create_company(actor, name="Analytical Engines Ltd")
    ada = make_contact(first_name="Ada", email="ada@example.com", company=company)
    workflow = make_workflow(
        "company-activity",
        subject="crm.company",
        trigger={"type": "event", "event": "activity.logged"},
        steps=[{"action": "task.create", "params": {"title": "Update the account {{ subject }}"}}],
    )
    crm.log_activity(actor, kind="call", contact=ada, subject="Intro")  # an activity's company
    run_jobs()
    run = WorkflowRun.objects.get(workflow=workflow)
    assert run.subject_id == str(company.pk)
    assert Task.objects.get(title="Update the account Analytical Engines Ltd").company == company
