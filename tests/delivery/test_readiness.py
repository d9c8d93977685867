"""No kick-off date until scope, timeline and owners are explicit; the page says what is missing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from throughline.delivery.services import milestones, projects

pytestmark = pytest.mark.django_db


def test_kickoff_date_is_refused_while_something_is_missing(project, delivery_actor, users):
    # given: the timeline lost a date, the scope is emptied and an onboarding item has no owner
    milestone = project.milestones.first()
    milestones.update_milestone(delivery_actor, milestone, due_date=None)
    projects.update_project(delivery_actor, project, in_scope="")
    project.refresh_from_db()
    project.brief = {**project.brief, "deliverables": []}
    project.save(update_fields=["brief"])
    item = project.checklist.get(title="Kick-off call")
    projects.assign_checklist_item(delivery_actor, item, None)
    project.refresh_from_db()

    missing = projects.readiness(project)
    assert any(m.startswith("Scope") for m in missing)
    assert any("Discovery" in m for m in missing)
    assert any("Kick-off call" in m for m in missing)
    with pytest.raises(ValidationError):
        projects.set_kickoff_date(delivery_actor, project, dt.date(2026, 12, 1))
    project.refresh_from_db()
    assert project.kickoff_date is None and project.status == "onboarding"

    # when everything is explicit
    milestones.update_milestone(delivery_actor, milestone, due_date=dt.date(2026, 12, 20))
    projects.update_project(delivery_actor, project, in_scope="Discovery workshop\nRollout")
    projects.assign_checklist_item(delivery_actor, item, users["delivery"])
    project.refresh_from_db()
    assert projects.readiness(project) == []
    projects.set_kickoff_date(delivery_actor, project, dt.date(2026, 12, 1))
    project.refresh_from_db()
    assert project.kickoff_date == dt.date(2026, 12, 1) and project.status == "active"
    item.task.refresh_from_db()
    assert item.task.owner == users["delivery"]


def test_the_project_page_shows_what_is_missing(client_as, project, delivery_actor):
    milestones.update_milestone(delivery_actor, project.milestones.first(), due_date=None)
    response = client_as("delivery").get(reverse("delivery:project_detail", args=[project.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "No kick-off date until scope, timeline and owners are explicit" in html
    assert "Timeline: give a due date to Discovery." in html
    # and the refusal through the page's form changes nothing
    client = client_as("delivery")
    client.post(
        reverse("delivery:project_action", args=[project.pk]),
        {"op": "kickoff", "kickoff_date": "2026-12-01"},
    )
    project.refresh_from_db()
    assert project.kickoff_date is None


def test_viewer_sees_the_project_but_cannot_act(client_as, project):
    viewer = client_as("viewer")
    assert viewer.get(reverse("delivery:project_detail", args=[project.pk])).status_code == 200
    response = viewer.post(
        reverse("delivery:project_action", args=[project.pk]),
        {"op": "start", "milestone": str(project.milestones.first().pk)},
    )
    assert response.status_code == 403
    assert project.milestones.first().status == "planned"


def test_staff_walk_a_milestone_through_the_page(client_as, project):
    client = client_as("delivery")
    url = reverse("delivery:project_action", args=[project.pk])
    milestone = project.milestones.first()
    client.post(url, {"op": "start", "milestone": milestone.pk})
    client.post(url, {"op": "submit_qa", "milestone": milestone.pk})
    refused = client.post(url, {"op": "deliver", "milestone": milestone.pk}, follow=True)
    assert "QA checklist" in refused.content.decode()
    for item in milestone.qa_items.all():
        client.post(url, {"op": "check", "item": item.pk})
    client.post(url, {"op": "deliver", "milestone": milestone.pk})
    milestone.refresh_from_db()
    assert milestone.status == "delivered"
    work = milestone.work_items.first()
    client.post(url, {"op": "move", "item": work.pk, "status": "done"})
    work.refresh_from_db()
    assert work.status == "done"


def test_the_project_is_on_the_contacts_timeline(client_as, project):
    page = client_as("viewer").get(reverse("crm:contact_detail", args=[project.contact_id]))
    assert f"Project {project.name} started" in page.content.decode()
