"""Internal approval rules block sending until an approver approves that exact version."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from throughline.core.models import AuditEntry, DomainEvent
from throughline.messaging.models import OutboundMessage
from throughline.sales.models import ProposalApproval
from throughline.sales.services import approvals
from throughline.sales.services import proposals as proposal_services

pytestmark = pytest.mark.django_db


def discounted(sales_actor, proposal, percent="20"):
    version = proposal.latest_version()
    lines = proposal_services.line_dicts(version)
    lines[0]["discount_percent"] = percent
    return proposal_services.update_draft(sales_actor, version, lines=lines)


def test_no_rule_no_approval_needed(sales_actor, proposal):
    assert approvals.approval_reasons(proposal.latest_version()) == []
    with pytest.raises(ValidationError):
        approvals.request_approval(sales_actor, proposal.latest_version())
    proposal_services.send_proposal(sales_actor, proposal)


def test_a_discount_above_the_limit_blocks_sending_until_approved(
    sales_actor, actor_for, proposal, users, smtp_server, run_jobs
):
    version = discounted(sales_actor, proposal)
    reasons = approvals.approval_reasons(version)
    assert [r["rule"] for r in reasons] == ["discount"]
    assert "20% is above the 15% limit" in reasons[0]["detail"]

    with pytest.raises(approvals.ApprovalRequired):
        proposal_services.send_proposal(sales_actor, proposal)
    assert not OutboundMessage.objects.filter(to_email="peter@initech.example").exists()

    approval = approvals.request_approval(sales_actor, version, "Strategic account")
    version.refresh_from_db()
    assert version.status == "pending_approval"
    with pytest.raises(approvals.ApprovalRequired):
        proposal_services.send_proposal(sales_actor, proposal)

    # Approvers were e-mailed — through a real SMTP server.
    run_jobs()
    asks = [
        m["message"] for m in smtp_server.messages if "Approval needed" in m["message"]["Subject"]
    ]
    assert {m["To"] for m in asks} == {users["owner"].email, users["admin"].email}
    message = asks[0]
    assert "a discount of 20% is above the 15% limit" in message.get_content()

    with pytest.raises(PermissionDenied):
        approvals.approve(sales_actor, approval)
    approvals.approve(actor_for("owner"), approval, "Fine this once")
    version.refresh_from_db()
    assert version.status == "approved"
    assert DomainEvent.objects.filter(name="proposal.approved").count() == 1
    entry = AuditEntry.objects.get(action="proposal.approval_approved")
    assert entry.actor == users["owner"] and entry.changes["comment"] == [None, "Fine this once"]

    proposal_services.send_proposal(sales_actor, proposal)
    version.refresh_from_db()
    assert version.status == "sent"


def test_changing_an_approved_version_voids_the_approval(sales_actor, actor_for, proposal):
    version = discounted(sales_actor, proposal)
    approvals.approve(actor_for("admin"), approvals.request_approval(sales_actor, version))
    proposal_services.update_draft(sales_actor, version, discount_percent="5")
    version.refresh_from_db()
    assert version.status == "draft"
    assert not approvals.is_approved(version)
    with pytest.raises(approvals.ApprovalRequired):
        proposal_services.send_proposal(sales_actor, proposal)


def test_editing_while_pending_cancels_the_request(sales_actor, actor_for, proposal):
    version = discounted(sales_actor, proposal)
    approval = approvals.request_approval(sales_actor, version)
    discounted(sales_actor, proposal, "25")
    approval.refresh_from_db()
    assert approval.status == "cancelled"
    with pytest.raises(ValidationError):
        approvals.approve(actor_for("owner"), approval)


def test_rejection_needs_a_comment_and_returns_the_draft(sales_actor, actor_for, proposal, users):
    version = discounted(sales_actor, proposal)
    approval = approvals.request_approval(sales_actor, version)
    with pytest.raises(ValidationError):
        approvals.reject(actor_for("owner"), approval, "")
    approvals.reject(actor_for("owner"), approval, "Max 15% for this client")
    version.refresh_from_db()
    assert version.status == "draft"
    note = OutboundMessage.objects.get(to_email=users["sales"].email, subject__contains="rejected")
    assert "Max 15% for this client" in note.body_text


def test_a_total_above_the_threshold_needs_approval(sales_actor, proposal, policy):
    policy.total_threshold = 4000
    policy.save()
    reasons = approvals.approval_reasons(proposal.latest_version())
    assert [r["rule"] for r in reasons] == ["total"]
    assert "£4,334.50" in reasons[0]["detail"]  # the dearest choice: with the training add-on


def test_non_standard_terms_need_approval(sales_actor, proposal):
    version = proposal_services.update_draft(
        sales_actor,
        proposal.latest_version(),
        content={"terms": "<p>Payment within 90 days.</p>"},
    )
    assert [r["rule"] for r in approvals.approval_reasons(version)] == ["terms"]
    schedule = {
        "kind": "installments",
        "items": [{"label": "On completion", "percent": "100", "due": "completion"}],
    }
    version = proposal_services.update_draft(
        sales_actor,
        version,
        content={"terms": proposal.template_version.content["terms"], "payment_schedule": schedule},
    )
    reasons = approvals.approval_reasons(version)
    assert [r["rule"] for r in reasons] == ["terms"]
    assert "payment schedule" in reasons[0]["detail"]


def test_send_button_is_replaced_by_request_approval(client_as, sales_actor, proposal):
    discounted(sales_actor, proposal)
    client = client_as("sales")
    page = client.get(reverse("sales:proposal_detail", args=[proposal.pk])).content.decode()
    assert "Request approval" in page and "Send version 1" not in page
    response = client.post(reverse("sales:proposal_send", args=[proposal.pk]))
    assert response.status_code == 302
    assert proposal.latest_version().status == "draft"
    client.post(reverse("sales:proposal_request_approval", args=[proposal.pk]), {"note": "pls"})
    approval = ProposalApproval.objects.get()
    assert (
        client.post(
            reverse("sales:proposal_decide", args=[proposal.pk, approval.pk]),
            {"decision": "approve"},
        ).status_code
        == 403
    )
    owner = client_as("owner")
    owner.post(
        reverse("sales:proposal_decide", args=[proposal.pk, approval.pk]),
        {"decision": "approve", "comment": "ok"},
    )
    assert proposal.latest_version().status == "approved"
