"""Contract templates follow the proposal templates' governance: versioned, approved by an
owner or admin before use, never changed once approved."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.signing.services import contracts, templates

pytestmark = pytest.mark.django_db


def test_draft_submit_approve_and_new_version_on_edit(actor, users, accepted_proposal, media):
    template = templates.create_template(
        actor,
        name="MSA",
        clauses=[{"title": "Scope", "body": "<p>For {{ company.name }}<script>x</script></p>"}],
    )
    v1 = template.versions.get()
    assert "<script>" not in v1.clauses[0]["body"]  # sanitized
    with pytest.raises(ValidationError, match="no approved version"):
        contracts.create_contract(actor, accepted_proposal, kind="contract", template=template)

    templates.submit_version(actor, v1)
    sales = Actor(user=users["sales"], channel=Channel.UI)
    with pytest.raises(PermissionDenied):
        templates.approve_version(sales, v1)
    with pytest.raises(ValidationError, match="Say what needs to change"):
        templates.reject_version(actor, v1, "")
    templates.approve_version(actor, v1, "Fine")
    v1.refresh_from_db()
    assert v1.status == "approved" and v1.decided_by == users["owner"]

    # editing never touches the approved version: a new draft (v2) starts as its copy
    v2 = templates.edit_template(
        actor, template, clauses=[{"title": "Scope", "body": "<p>Changed</p>"}]
    )
    assert v2.number == 2 and v2.status == "draft"
    v1.refresh_from_db()
    assert "For {{ company.name }}" in v1.clauses[0]["body"]
    assert templates.usable_version(template) == v1

    contract = contracts.create_contract(
        actor, accepted_proposal, kind="contract", template=template
    )
    assert contract.template_version == v1


def test_bad_merge_tags_are_refused(actor):
    with pytest.raises(ValidationError, match="not allowed"):
        templates.create_template(
            actor, name="Bad", clauses=[{"title": "X", "body": "{% debug %}"}]
        )


def test_template_pages(client_as, actor, contract_template):
    owner = client_as("owner")
    assert owner.get("/signing/templates/").status_code == 200
    page = owner.get(f"/signing/templates/{contract_template.pk}/")
    assert page.status_code == 200 and "Parties" in page.content.decode()
    response = owner.post(
        f"/signing/templates/{contract_template.pk}/",
        {
            "name": "Services agreement",
            "clause_title": ["Parties", "New"],
            "clause_body": ["<p>a</p>", "<p>b</p>"],
        },
    )
    assert response.status_code == 302
    working = contract_template.working_version()
    assert working.number == 2 and [c["title"] for c in working.clauses] == ["Parties", "New"]
    assert owner.post(f"/signing/templates/{contract_template.pk}/submit").status_code == 302
    assert owner.post(f"/signing/templates/versions/{working.pk}/approve").status_code == 302
    working.refresh_from_db()
    assert working.status == "approved"
    # sales may read templates but not change them
    sales = client_as("sales")
    assert (
        sales.post(f"/signing/templates/{contract_template.pk}/", {"name": "x"}).status_code == 403
    )
