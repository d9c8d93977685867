"""Project templates: validated, versioned (a change is a new version; projects keep theirs)."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tests.delivery.fixtures import TEMPLATE_CONTENT
from throughline.delivery.models import ProjectTemplate
from throughline.delivery.services import templates

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ({"milestones": [{"title": ""}]}, "milestones.0.title"),
        ({"milestones": [{"title": "A", "offset_days": -3}]}, "milestones.0.offset_days"),
        ({"onboarding": [{"title": "X", "owner_role": "wizard"}]}, "onboarding.0.owner_role"),
        ({"offboarding": "not a list"}, "offboarding"),
        ({"surprise": []}, "content"),
    ],
)
def test_bad_template_content_is_refused(actor, content, key):
    with pytest.raises(ValidationError) as exc:
        templates.create_template(actor, name="Bad", content=content)
    assert key in exc.value.message_dict
    assert not ProjectTemplate.objects.exists()


def test_a_change_is_a_new_version_and_running_projects_keep_theirs(project, actor):
    template = project.template_version.template
    changed = {**TEMPLATE_CONTENT, "offboarding": [{"title": "Send flowers"}]}
    version = templates.save_version(actor, template, changed, "Be nicer")
    assert version.number == 2
    assert templates.save_version(actor, template, changed) == version  # no change, no version
    project.refresh_from_db()
    assert project.template_version.number == 1
    assert project.template_version.content["offboarding"][0]["title"] == "Revoke system access"


def test_template_editor_page(client_as):
    staff = client_as("delivery")
    url = reverse("delivery:template_new")
    bad = staff.post(url, {"name": "Audit", "content": "{not json"})
    assert bad.status_code == 400 and "Not valid JSON" in bad.content.decode()
    content = {"milestones": [{"title": "Report", "offset_days": 20, "qa": ["Peer review"]}]}
    response = staff.post(url, {"name": "Audit", "content": json.dumps(content), "default": "1"})
    template = ProjectTemplate.objects.get(name="Audit")
    assert response.status_code == 302
    assert template.current_version().content["milestones"][0]["qa"] == ["Peer review"]
    assert templates.DeliverySettings.current().default_template == template
    assert client_as("sales").get(url).status_code == 403
