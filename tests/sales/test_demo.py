"""The sales demo section: every stage and proposal state, through the services, re-runnable."""

from __future__ import annotations

import pytest

from throughline.core.audit_log import verify_chain
from throughline.core.demo import build_demo
from throughline.sales.models import Deal, Proposal, ProposalAcceptance, ProposalVersion

pytestmark = pytest.mark.django_db


def test_demo_builds_deals_and_proposals_in_every_state_and_reruns_cleanly():
    ctx = build_demo(only=["crm", "sales"])
    assert ctx.created["deals"] == 13
    assert set(Deal.objects.values_list("status", flat=True)) == {"open", "won", "lost"}
    assert any(d.is_stalled for d in Deal.objects.filter(status="open"))
    statuses = set(Proposal.objects.values_list("status", flat=True))
    assert {"draft", "sent", "accepted"} <= statuses
    assert ProposalVersion.objects.filter(status="pending_approval").exists()
    assert ProposalVersion.objects.filter(status="superseded").exists()
    assert ProposalAcceptance.objects.count() == 2
    assert verify_chain().ok
    again = build_demo(only=["crm", "sales"])
    assert again.created["deals"] == 0
    assert Deal.objects.count() == 13
