"""Deals and proposals on the contact's timeline (crm.timeline's extension point)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source
from throughline.sales.models import Deal, Proposal


@timeline_source
def _deals(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    for deal in Deal.objects.filter(contact=contact).select_related("owner", "stage")[:limit]:
        yield TimelineEntry(
            at=deal.created_at,
            kind="deal",
            title=f"Deal: {deal.title}",
            body=f"{deal.get_status_display()} · {deal.stage.name}",
            actor=str(deal.owner) if deal.owner else "",
            url=reverse("sales:deal_detail", args=[deal.pk]),
        )


@timeline_source
def _proposals(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    proposals = Proposal.objects.filter(contact=contact).select_related("owner")
    for proposal in proposals.order_by("-created_at")[:limit]:
        moments = [("created", proposal.created_at), ("sent", proposal.sent_at)]
        moments += [("viewed", proposal.first_viewed_at), ("accepted", proposal.accepted_at)]
        for what, at in moments:
            if at is None:
                continue
            yield TimelineEntry(
                at=at,
                kind="proposal",
                title=f"Proposal {proposal.number} {what}: {proposal.title}",
                actor=str(proposal.owner) if proposal.owner and what in {"created", "sent"} else "",
                url=reverse("sales:proposal_detail", args=[proposal.pk]),
            )
