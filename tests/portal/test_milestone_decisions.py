"""The client accepts a delivered milestone, or asks for changes with a comment, in the portal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from throughline.core.models import DomainEvent
from throughline.delivery.services import milestones

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(project, delivery_actor):
    milestone = project.milestones.first()
    milestones.start(delivery_actor, milestone)
    milestones.submit_for_qa(delivery_actor, milestone)
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(delivery_actor, item)
    return milestones.deliver(delivery_actor, milestone)


def test_client_accepts_in_the_portal(client, delivered, link):
    url = reverse("portal:milestone", args=[link, delivered.pk])
    page = client.get(url)
    assert "Accept milestone" in page.content.decode()
    response = client.post(url, {"decision": "accept", "comment": "<b>Great</b>"})
    assert response.status_code == 302
    delivered.refresh_from_db()
    assert delivered.status == "accepted" and delivered.accepted_by == "Peter Gibbons"
    event = DomainEvent.objects.get(name="milestone.accepted")
    assert event.channel == "portal"
    # twice: refused with a clear message, nothing changes
    again = client.post(url, {"decision": "accept"})
    assert again.status_code == 400
    assert "accepted already" in again.content.decode()
    assert DomainEvent.objects.filter(name="milestone.accepted").count() == 1


def test_client_requests_changes_with_a_comment(client, delivered, link):
    url = reverse("portal:milestone", args=[link, delivered.pk])
    missing = client.post(url, {"decision": "changes", "comment": ""})
    assert missing.status_code == 400
    delivered.refresh_from_db()
    assert delivered.revision_count == 0
    response = client.post(
        url, {"decision": "changes", "comment": "<script>alert(1)</script> more colour"}
    )
    assert response.status_code == 302
    delivered.refresh_from_db()
    assert delivered.status == "in_progress" and delivered.revision_count == 1
    project_page = client.get(reverse("portal:project", args=[link, delivered.project_id]))
    html = project_page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; more colour" in html
    assert "<script>alert(1)</script>" not in html
