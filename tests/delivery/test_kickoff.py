"""contract.signed → a project with a filled brief and onboarding tasks assigned to people."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.delivery.fixtures import sign
from throughline.core.models import DomainEvent
from throughline.crm.models import Task
from throughline.delivery.models import Project
from throughline.delivery.services import templates as project_templates

pytestmark = pytest.mark.django_db


def test_signed_contract_kicks_off_a_project_with_a_filled_brief(
    actor, accepted_proposal, project_template, users, peter, run_jobs
):
    # given: the proposal names the project template to follow
    project_templates.choose_for_proposal(actor, accepted_proposal, project_template)
    # when
    event = sign(actor, accepted_proposal)
    run_jobs()
    # then
    project = Project.objects.get(proposal=accepted_proposal)
    assert str(project.contract_id) == event.subject_id
    assert project.contact == peter and project.company == peter.company
    assert project.deal_id == accepted_proposal.deal_id
    assert project.template_version == project_template.current_version()
    brief = project.brief
    assert [c["email"] for c in brief["contacts"]] == ["peter@initech.example"]
    assert brief["deliverables"][0]["description"].startswith("Consulting day")
    assert brief["deliverables"][0]["quantity"] == "4"
    assert brief["deliverables"][0]["net_amount"] == "3800.00"
    assert brief["in_scope"] == ["Discovery workshop", "Rollout to two offices"]
    assert brief["out_of_scope"] == ["Hardware"]
    assert [m["title"] for m in brief["milestones"]] == ["Discovery", "Go-live"]
    assert [i["percent"] for i in brief["payment_schedule"]["items"]] == ["30", "30", "40"]
    assert brief["notes"] == "Peter prefers calls on Tuesdays."
    assert brief["contract"]["number"]
    # milestones from the proposal's timeline, with the template's QA checklists and tasks
    milestones = list(project.milestones.all())
    assert [m.title for m in milestones] == ["Discovery", "Go-live"]
    start = accepted_proposal.accepted_at.date()
    assert milestones[0].due_date == start + dt.timedelta(days=14)
    assert [i.title for i in milestones[1].qa_items.all()] == [
        "Smoke test passed",
        "Client sign-off checklist prepared",
    ]
    assert [w.title for w in milestones[0].work_items.all()] == [
        "Interview stakeholders",
        "Write findings",
    ]
    # the instalments due on milestones, net of tax: 4 × 950 = 3800
    assert milestones[0].amount == Decimal("1140.00") and milestones[0].percent == 30
    assert milestones[1].amount == Decimal("1520.00")
    # onboarding tasks are real CRM tasks, assigned by role (fallback: the project owner)
    onboarding = {i.title: i for i in project.checklist.filter(kind="onboarding")}
    assert onboarding["Collect system access"].owner == users["delivery"]
    assert onboarding["Set up the deposit invoice check"].owner == users["billing"]
    assert onboarding["Kick-off call"].owner == project.owner
    tasks = Task.objects.filter(source=f"delivery.project:{project.pk}")
    assert tasks.count() == 3
    assert {t.owner for t in tasks} == {users["delivery"], users["billing"], project.owner}
    assert all(t.contact == peter and t.due_at for t in tasks)
    created = DomainEvent.objects.get(name="project.created")
    assert created.payload["project_id"] == str(project.pk)
    assert created.payload["contact_id"] == str(peter.pk)
    assert created.payload["onboarding_tasks"] == 3
    assert created.depth == 1  # caused by contract.signed


def test_a_redelivered_event_makes_one_project(
    actor, accepted_proposal, project_template, run_jobs
):
    from throughline.core.events import handle_event

    project_templates.set_default_template(actor, project_template)
    event = sign(actor, accepted_proposal)
    run_jobs()
    # the same event delivered again, as at-least-once delivery may
    handle_event.call(event.id, "throughline.delivery.handlers.kick_off_project")
    from throughline.delivery.services import kickoff
    from throughline.signing.models import Contract

    kickoff.kickoff_from_contract(actor, Contract.objects.get(pk=event.subject_id), event.payload)
    assert Project.objects.filter(proposal=accepted_proposal).count() == 1
    assert DomainEvent.objects.filter(name="project.created").count() == 1


def test_without_any_template_the_proposal_timeline_is_used(actor, accepted_proposal, run_jobs):
    sign(actor, accepted_proposal)
    run_jobs()
    project = Project.objects.get(proposal=accepted_proposal)
    assert project.template_version is None
    assert [m.title for m in project.milestones.all()] == ["Discovery", "Go-live"]
    # every milestone still has a QA gate
    assert all(m.qa_items.count() == 1 for m in project.milestones.all())


def test_staff_choose_the_template_on_an_upcoming_proposal(
    client_as, accepted_proposal, project_template, run_jobs, actor
):
    from django.urls import reverse

    staff = client_as("delivery")
    listing = staff.get(reverse("delivery:project_list")).content.decode()
    assert accepted_proposal.number in listing
    staff.post(
        reverse("delivery:choose_template", args=[accepted_proposal.pk]),
        {"template": project_template.pk},
    )
    sign(actor, accepted_proposal)
    run_jobs()
    project = Project.objects.get(proposal=accepted_proposal)
    assert project.template_version.template == project_template
    assert project.checklist.filter(kind="onboarding").count() == 3


def test_staff_start_an_accepted_proposals_project_without_a_contract(
    client_as, accepted_proposal, project_template, actor
):
    from django.urls import reverse

    project_templates.set_default_template(actor, project_template)
    staff = client_as("delivery")
    url = reverse("delivery:start_project", args=[accepted_proposal.pk])
    response = staff.post(url)
    project = Project.objects.get(proposal=accepted_proposal)
    assert response.status_code == 302 and str(project.pk) in response["Location"]
    assert project.contract is None and project.brief["contract"] == {}
    assert project.brief["in_scope"] == ["Discovery workshop", "Rollout to two offices"]
    staff.post(url)  # twice: still one project
    assert Project.objects.filter(proposal=accepted_proposal).count() == 1
    assert client_as("sales").post(url).status_code == 403


def test_a_contract_signed_after_a_manual_start_joins_that_project(
    accepted_proposal, project_template, actor, run_jobs
):
    from throughline.delivery.services import kickoff

    manual = kickoff.kickoff_from_proposal(actor, accepted_proposal)
    event = sign(actor, accepted_proposal)
    run_jobs()
    manual.refresh_from_db()
    assert Project.objects.filter(proposal=accepted_proposal).count() == 1
    assert str(manual.contract_id) == event.subject_id
    assert manual.brief["contract"]["number"] == event.payload["number"]
