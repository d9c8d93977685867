"""REST API v1 ``projects`` and ``milestones`` (``/complete``, ``/accept``): every response
checked against the OpenAPI document; state conflicts answer 409 and change nothing."""

from __future__ import annotations

import pytest

from throughline.core.models import DomainEvent

pytestmark = pytest.mark.django_db


def test_projects_are_listed_and_read(api, project):
    client = api("viewer")
    listing = client.get("/api/v1/projects").json()
    assert [p["id"] for p in listing["results"]] == [str(project.pk)]
    one = client.get(f"/api/v1/projects/{project.pk}").json()
    assert one["contact_id"] == str(project.contact_id)
    assert one["brief"]["in_scope"] == ["Discovery workshop", "Rollout to two offices"]
    assert [m["title"] for m in one["milestones"]] == ["Discovery", "Go-live"]
    assert one["milestones"][1]["amount"] == "1520.00" and one["milestones"][1]["currency"] == "GBP"
    assert one["missing_for_kickoff"] == []
    other = client.get(f"/api/v1/projects?contact_id={project.pk}").json()
    assert other["results"] == []


def test_complete_and_accept_through_the_api(api, project):
    client = api("delivery")
    milestone = project.milestones.first()
    base = f"/api/v1/milestones/{milestone.pk}"

    # complete before QA: 409, nothing changes
    early = client.post(f"{base}/complete", {}, format="json")
    assert early.status_code == 409
    assert early["Content-Type"] == "application/problem+json"
    assert client.post(f"{base}/start", {}, format="json").status_code == 200
    assert client.post(f"{base}/submit-qa", {}, format="json").status_code == 200
    gated = client.post(f"{base}/complete", {}, format="json")
    assert gated.status_code == 409 and "QA checklist" in gated.json()["detail"]

    from throughline.core.actor import Actor
    from throughline.delivery.services import milestones

    for item in milestone.qa_items.all():
        milestones.complete_qa_item(Actor.cli(), item)
    done = client.post(f"{base}/complete", {}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "delivered"
    assert DomainEvent.objects.filter(name="milestone.completed").count() == 1

    accepted = client.post(f"{base}/accept", {"accepted_by": "Peter on the phone"}, format="json")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["accepted_by"] == "Peter on the phone"
    twice = client.post(f"{base}/accept", {}, format="json")
    assert twice.status_code == 409
    assert DomainEvent.objects.filter(name="milestone.accepted").count() == 1


def test_kickoff_refused_with_what_is_missing(api, project, delivery_actor):
    from throughline.delivery.services import milestones

    milestones.update_milestone(delivery_actor, project.milestones.first(), due_date=None)
    client = api("delivery")
    response = client.post(
        f"/api/v1/projects/{project.pk}/kickoff", {"kickoff_date": "2026-12-01"}, format="json"
    )
    assert response.status_code == 400
    assert "Discovery" in str(response.json())
    project.refresh_from_db()
    assert project.kickoff_date is None


def test_roles_without_delivery_edit_cannot_act(api, project):
    milestone = project.milestones.first()
    for role in ("sales", "billing", "viewer"):
        response = api(role).post(f"/api/v1/milestones/{milestone.pk}/start", {}, format="json")
        assert response.status_code == 403
    milestone.refresh_from_db()
    assert milestone.status == "planned"
