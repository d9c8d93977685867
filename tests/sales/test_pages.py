"""Every sales page renders for the roles that may see it, and refuses the others."""

from __future__ import annotations

import pytest
from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.sales.models import CatalogueItem, Stage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["owner", "sales", "delivery", "billing", "viewer"])
def test_read_pages_render_for_everyone_with_sales_view(client_as, role, sent_proposal, items):
    client = client_as(role)
    proposal = sent_proposal
    pages = [
        reverse("sales:deal_board"),
        reverse("sales:deal_list") + "?status=all&stalled=1",
        reverse("sales:deal_detail", args=[proposal.deal.pk]),
        reverse("sales:proposal_list"),
        reverse("sales:proposal_list") + "?status=approval",
        reverse("sales:proposal_detail", args=[proposal.pk]),
        reverse("sales:proposal_version", args=[proposal.pk, 1]),
        reverse("sales:catalogue_list"),
        reverse("sales:template_list"),
        reverse("sales:template_detail", args=[proposal.template_version.template_id]),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    ("role", "allowed"), [("owner", True), ("admin", True), ("sales", False), ("viewer", False)]
)
def test_settings_are_for_owners_and_admins(client_as, role, allowed):
    response = client_as(role).get(reverse("sales:settings"))
    assert response.status_code == (200 if allowed else 403)


def test_stage_settings_are_audited(client_as):
    client = client_as("admin")
    stage = Stage.objects.get(name="Negotiation")
    response = client.post(
        reverse("sales:stage_edit", args=[stage.pk]),
        {
            f"stage-{stage.pk}-name": "Negotiation",
            f"stage-{stage.pk}-probability": "80",
            f"stage-{stage.pk}-stall_after_days": "10",
        },
    )
    assert response.status_code == 302
    stage.refresh_from_db()
    assert (stage.probability, stage.stall_after_days) == (80, 10)
    assert AuditEntry.objects.get(action="stage.updated").changes["probability"] == [75, 80]


def test_catalogue_is_managed_by_owner_and_admin(client_as):
    data = {
        "name": "Audit day",
        "kind": "service",
        "unit": "day",
        "unit_price": "1200",
        "currency": "GBP",
        "tax_rate": "20",
        "tax_category": "S",
        "active": "on",
    }
    assert client_as("sales").post(reverse("sales:catalogue_create"), data).status_code == 403
    response = client_as("owner").post(reverse("sales:catalogue_create"), data)
    assert response.status_code == 302
    item = CatalogueItem.objects.get(name="Audit day")
    assert str(item.unit_price) == "1200.0000"
    assert AuditEntry.objects.filter(action="catalogue_item.created").exists()


def test_proposal_created_in_one_action_from_the_deal_page(client_as, deal, approved_template):
    client = client_as("sales")
    page = client.get(reverse("sales:deal_detail", args=[deal.pk])).content.decode()
    assert "Create proposal" in page
    response = client.post(
        reverse("sales:proposal_create", args=[deal.pk]), {"template": approved_template.pk}
    )
    assert response.status_code == 302
    proposal = deal.proposals.get()
    assert response["Location"] == reverse("sales:proposal_detail", args=[proposal.pk])
    detail = client.get(response["Location"]).content.decode()
    assert "Dear Peter" in detail and "£4,558.73" in detail


def test_content_editor_round_trip(client_as, proposal):
    client = client_as("sales")
    page = client.get(reverse("sales:proposal_content", args=[proposal.pk]))
    assert page.status_code == 200
    version = proposal.latest_version()
    content = version.content
    data = {
        "sections-TOTAL_FORMS": "1",
        "sections-INITIAL_FORMS": "0",
        "sections-MIN_NUM_FORMS": "0",
        "sections-MAX_NUM_FORMS": "1000",
        "sections-0-title": "Intro",
        "sections-0-body": "<p>Hi {{ contact.first_name }}</p>",
        "options-TOTAL_FORMS": "1",
        "options-INITIAL_FORMS": "0",
        "options-MIN_NUM_FORMS": "0",
        "options-MAX_NUM_FORMS": "1000",
        "options-0-key": "training",
        "options-0-title": "Team training",
        "milestones-TOTAL_FORMS": "1",
        "milestones-INITIAL_FORMS": "0",
        "milestones-MIN_NUM_FORMS": "0",
        "milestones-MAX_NUM_FORMS": "1000",
        "milestones-0-title": "Kick-off",
        "milestones-0-offset_days": "3",
        "schedule-TOTAL_FORMS": "3",
        "schedule-INITIAL_FORMS": "0",
        "schedule-MIN_NUM_FORMS": "0",
        "schedule-MAX_NUM_FORMS": "1000",
        "schedule-0-label": "Deposit",
        "schedule-0-percent": "30",
        "schedule-0-due": "signing",
        "schedule-1-label": "",
        "schedule-1-percent": "70",
        "schedule-1-due": "milestone",
        "schedule-1-milestone": "1",
        "schedule-2-due": "signing",
        "kind": "milestones",
        "in_scope": "Kick-off workshop\n\nDesign",
        "out_of_scope": "",
        "terms": content["terms"],
    }
    response = client.post(reverse("sales:proposal_content", args=[proposal.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    version.refresh_from_db()
    assert version.rendered["sections"] == [{"title": "Intro", "html": "<p>Hi Peter</p>"}]
    assert version.content["in_scope"] == ["Kick-off workshop", "Design"]
    items = version.content["payment_schedule"]["items"]
    assert [(i["label"], i["percent"], i["milestone"]) for i in items] == [
        ("Deposit", "30", None),
        ("Kick-off", "70", 0),
    ]


def test_pipeline_settings_add_reorder_delete_stage_and_manage_reasons(client_as):
    from throughline.sales.models import ApprovalPolicy, LostReason, Pipeline

    client = client_as("owner")
    pipeline = Pipeline.objects.get(is_default=True)
    prefix = f"new-{pipeline.pk}"
    client.post(
        reverse("sales:stage_create", args=[pipeline.pk]),
        {f"{prefix}-name": "Verbal yes", f"{prefix}-probability": "90"},
    )
    stage = Stage.objects.get(name="Verbal yes")
    client.post(reverse("sales:stage_move", args=[stage.pk]), {"direction": "up"})
    names = list(pipeline.stages.order_by("position").values_list("name", flat=True))
    assert names[-2:] == ["Verbal yes", "Negotiation"]
    client.post(reverse("sales:stage_delete", args=[stage.pk]))
    assert not Stage.objects.filter(name="Verbal yes").exists()

    client.post(reverse("sales:lost_reason_create"), {"name": "Went in-house", "active": "on"})
    reason = LostReason.objects.get(name="Went in-house")
    client.post(reverse("sales:lost_reason_edit", args=[reason.pk]), {"name": "Went in-house"})
    reason.refresh_from_db()
    assert reason.active is False

    client.post(
        reverse("sales:policy_save"),
        {
            "max_discount_percent": "10",
            "total_threshold": "25000",
            "threshold_currency": "gbp",
            "nonstandard_terms_need_approval": "on",
        },
    )
    policy = ApprovalPolicy.current()
    assert (str(policy.max_discount_percent), policy.threshold_currency) == ("10.00", "GBP")
    assert AuditEntry.objects.filter(action="approval_policy.updated").exists()


def test_a_stage_with_deals_cannot_be_deleted(client_as, deal):
    client = client_as("owner")
    client.post(reverse("sales:stage_delete", args=[deal.stage.pk]))
    assert Stage.objects.filter(pk=deal.stage.pk).exists()


def test_create_and_edit_a_deal_in_the_ui(client_as, client_contact):
    from throughline.sales.models import Deal

    client = client_as("sales")
    form = client.get(reverse("sales:deal_create") + f"?contact={client_contact.pk}")
    assert form.status_code == 200 and "Initech — new deal" in form.content.decode()
    response = client.post(
        reverse("sales:deal_create"),
        {
            "title": "Website",
            "contact": client_contact.pk,
            "value": "5000",
            "currency": "gbp",
            "stage": Stage.objects.get(name="Qualified").pk,
        },
    )
    assert response.status_code == 302
    deal = Deal.objects.get(title="Website")
    assert (deal.stage.name, deal.currency, deal.company) == (
        "Qualified",
        "GBP",
        client_contact.company,
    )
    edit = client.get(reverse("sales:deal_edit", args=[deal.pk]))
    assert 'value="5000"' in edit.content.decode()
    response = client.post(
        reverse("sales:deal_edit", args=[deal.pk]),
        {
            "title": "Website relaunch",
            "contact": client_contact.pk,
            "value": "5500.5",
            "currency": "GBP",
        },
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "Website relaunch" and str(deal.value) == "5500.5000"
    assert AuditEntry.objects.get(action="deal.updated").changes["title"] == [
        "Website",
        "Website relaunch",
    ]
