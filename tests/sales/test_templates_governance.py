"""Proposal templates are governed: drafts cannot be used, only owners/admins approve, all audited."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from tests.sales.conftest import template_content
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry
from throughline.messaging.models import OutboundMessage
from throughline.sales.models import Proposal, TemplateVersion
from throughline.sales.services import proposals as proposal_services
from throughline.sales.services import templates

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft_template(actor, items):
    return templates.create_template(
        actor, name="Retainer", currency="GBP", content=template_content(items)
    )


def test_a_draft_version_cannot_be_used(sales_actor, deal, draft_template):
    version = draft_template.versions.get()
    assert version.status == "draft"
    with pytest.raises(ValidationError) as exc:
        proposal_services.create_proposal(sales_actor, deal, draft_template)
    assert "no approved version" in exc.value.message_dict["template"][0]
    with pytest.raises(ValidationError):
        proposal_services.create_proposal(sales_actor, deal, version)
    assert not Proposal.objects.exists()


def test_a_submitted_or_rejected_version_cannot_be_used_either(
    actor, sales_actor, deal, draft_template
):
    version = draft_template.versions.get()
    templates.submit_version(sales_actor, version)
    with pytest.raises(ValidationError):
        proposal_services.create_proposal(sales_actor, deal, version)
    templates.reject_version(actor, version, "Terms need legal review.")
    version.refresh_from_db()
    assert version.status == "rejected"
    with pytest.raises(ValidationError):
        proposal_services.create_proposal(sales_actor, deal, draft_template)


def test_only_owner_or_admin_approves_and_it_is_audited(actor_for, draft_template, users):
    version = draft_template.versions.get()
    templates.submit_version(actor_for("sales"), version)
    # Approvers (owner, admin) are told.
    recipients = set(
        OutboundMessage.objects.filter(subject__contains="waits for your approval").values_list(
            "to_email", flat=True
        )
    )
    assert recipients == {users["owner"].email, users["admin"].email}
    for role in ("sales", "delivery", "billing", "viewer"):
        with pytest.raises(PermissionDenied):
            templates.approve_version(actor_for(role), version)
    templates.approve_version(actor_for("admin"), version, "OK for use")
    version.refresh_from_db()
    assert version.status == "approved"
    assert version.decided_by == users["admin"] and version.decided_at is not None
    entry = AuditEntry.objects.get(action="template_version.approved")
    assert entry.actor == users["admin"]
    assert entry.changes["status"] == ["submitted", "approved"]
    assert entry.changes["comment"] == [None, "OK for use"]


def test_rejecting_needs_a_comment(actor, draft_template):
    version = draft_template.versions.get()
    with pytest.raises(ValidationError):
        templates.reject_version(actor, version, "  ")


def test_editing_an_approved_template_creates_a_draft_and_proposals_keep_the_approved_one(
    actor, sales_actor, deal, approved_template, items
):
    approved = approved_template.approved_version()
    content = template_content(items)
    content["sections"][0]["body"] = "<p>Brand new introduction.</p>"
    draft = templates.edit_template(actor, approved_template, content=content)
    assert draft.number == 2 and draft.status == "draft"
    approved.refresh_from_db()
    assert approved.status == "approved"
    assert "Dear {{ contact.first_name }}" in approved.content["sections"][0]["body"]
    # Editing again continues the same draft.
    assert templates.edit_template(actor, approved_template, valid_days=45).pk == draft.pk

    proposal = proposal_services.create_proposal(sales_actor, deal, approved_template)
    assert proposal.template_version == approved
    assert "Dear Peter" in proposal.latest_version().rendered["sections"][0]["html"]

    templates.approve_version(actor, draft)
    second = proposal_services.create_proposal(sales_actor, deal, approved_template)
    assert second.template_version.number == 2
    assert (
        second.latest_version().rendered["sections"][0]["html"] == "<p>Brand new introduction.</p>"
    )
    assert (second.latest_version().valid_until - proposal_services.today()).days == 45


def test_an_approved_version_never_changes(actor, approved_template):
    approved = approved_template.approved_version()
    with pytest.raises(ValidationError):
        templates.submit_version(actor, approved)
    assert TemplateVersion.objects.filter(template=approved_template).count() == 1


def test_template_pages(client_as, approved_template, items):
    owner = client_as("owner")
    assert owner.get(reverse("sales:template_list")).status_code == 200
    detail = owner.get(reverse("sales:template_detail", args=[approved_template.pk]))
    assert detail.status_code == 200
    assert "Dear Ada" in detail.content.decode()  # previewed with sample data
    edit = owner.get(reverse("sales:template_edit", args=[approved_template.pk]))
    assert edit.status_code == 200
    assert approved_template.versions.count() == 1  # looking at the editor changes nothing


def test_sales_cannot_edit_or_approve_templates(client_as, approved_template):
    client = client_as("sales")
    assert (
        client.get(reverse("sales:template_detail", args=[approved_template.pk])).status_code == 200
    )
    assert (
        client.get(reverse("sales:template_edit", args=[approved_template.pk])).status_code == 403
    )
    response = client.post(
        reverse("sales:template_decide", args=[approved_template.pk, 1]), {"decision": "approve"}
    )
    assert response.status_code == 403


def _formset(prefix: str, rows: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    return data


def test_editing_in_the_browser_makes_a_draft_priced_from_the_catalogue(
    client_as, approved_template, items
):
    from throughline.sales.services import catalogue

    client = client_as("admin")
    data = {
        "meta-name": "Consulting engagement",
        "meta-description": "Our standard offer",
        "settings-currency": "GBP",
        "settings-valid_days": "21",
        "settings-change_note": "Two days of consulting, new intro",
        "kind": "installments",
        "in_scope": "Workshop\nReport",
        "out_of_scope": "",
        "terms": "<p>Net 30.</p><script>alert(1)</script>",
        **_formset("sections", [{"title": "Hello", "body": "<p>Hi {{ contact.first_name }}</p>"}]),
        **_formset("options", []),
        **_formset("milestones", []),
        **_formset(
            "schedule",
            [{"label": "Up front", "percent": "100", "due": "signing"}],
        ),
        **_formset(
            "lines",
            [{"item": str(items["consulting"].pk), "quantity": "2", "discount_percent": "0"}],
        ),
    }
    # The catalogue price changed since v1 was approved: the draft takes today's price.
    catalogue.update_item(Actor.cli(), items["consulting"], unit_price="990")
    response = client.post(reverse("sales:template_edit", args=[approved_template.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    draft = approved_template.versions.get(number=2)
    assert draft.status == "draft" and draft.valid_days == 21
    assert draft.content["lines"][0]["unit_price"] == "990.0000"
    assert draft.content["lines"][0]["quantity"] == "2"
    assert "<script" not in draft.content["terms"]
    assert draft.change_note == "Two days of consulting, new intro"
    assert approved_template.approved_version().number == 1
