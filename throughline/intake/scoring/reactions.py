"""Scoring's reactions to events (registered by ``IntakeScoringConfig.ready``).

* Behaviour on a contact with open leads earns intent points: an inbound e-mail is a reply,
  a meeting logged is a booking, an inbound call, a proposal / contract / invoice viewed in
  the portal (another inquiry from the same person is counted at capture, ``at_capture``).
* Outcomes for the learned model: converted → won, rejected → lost, and the converted
  lead's deal won or lost settles it.

Handlers run as jobs, at least once; each is idempotent (``IntentSignal`` is unique per
cause, ``LeadOutcome`` is one row per lead).
"""

from __future__ import annotations

import uuid

from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import DomainEvent
from throughline.crm.models import Activity
from throughline.intake.models import Lead
from throughline.intake.scoring import rules
from throughline.intake.scoring.models import LeadOutcome, Signal


def signal_of(activity: Activity) -> str | None:
    if activity.kind == Activity.Kind.EMAIL and activity.direction == "in":
        return Signal.REPLY
    if activity.kind == Activity.Kind.MEETING:
        return Signal.MEETING
    if activity.kind == Activity.Kind.CALL and activity.direction == "in":
        return Signal.INBOUND_CALL
    return None


def _actor() -> Actor:
    return Actor.system(label="lead scoring")


@events.on("activity.logged")
def intent_from_activity(event: DomainEvent) -> int:
    activity = Activity.objects.filter(pk=event.subject_id).first()
    if activity is None or activity.contact_id is None:
        return 0
    signal = signal_of(activity)
    if signal is None:
        return 0
    leads = Lead.objects.filter(
        contact_id=activity.contact_id,
        status__in=Lead.OPEN_STATUSES,
        received_at__lte=activity.occurred_at,
    )
    return sum(
        rules.record_signal(
            _actor(),
            lead,
            signal,
            ref=f"activity:{activity.pk}",
            at=activity.occurred_at,
            cause=event,
        )
        for lead in leads
    )


@events.on("proposal.viewed", "contract.viewed", "invoice.viewed")
def intent_from_portal_visit(event: DomainEvent) -> int:
    """A client page viewed by the person (a proposal, contract or invoice through the portal)."""
    from throughline.automation import registry

    contact_id = (event.payload or {}).get("contact_id") or ""
    if not contact_id:
        contact_id, _ = registry.subject_for_event(event, "crm.contact")
    try:
        contact_id = uuid.UUID(str(contact_id))
    except ValueError:
        return 0
    leads = Lead.objects.filter(
        contact_id=contact_id, status__in=Lead.OPEN_STATUSES, received_at__lte=event.occurred_at
    )
    return sum(
        rules.record_signal(
            _actor(),
            lead,
            Signal.PORTAL_VISIT,
            ref=f"event:{event.pk}",
            at=event.occurred_at,
            cause=event,
        )
        for lead in leads
    )


def _settle(lead_id, result: str, event: DomainEvent) -> None:
    LeadOutcome.objects.update_or_create(
        lead_id=lead_id, defaults={"result": result, "closed_at": event.occurred_at}
    )


@events.on("lead.converted", "lead.rejected")
def outcome_from_lead(event: DomainEvent) -> None:
    if Lead.objects.filter(pk=event.subject_id).exists():
        won = event.name == "lead.converted"
        _settle(event.subject_id, LeadOutcome.Result.WON if won else LeadOutcome.Result.LOST, event)


@events.on("deal.won", "deal.lost")
def outcome_from_deal(event: DomainEvent) -> None:
    lead = Lead.objects.filter(converted_deal_id=event.subject_id).only("pk").first()
    if lead is not None:
        won = event.name == "deal.won"
        _settle(lead.pk, LeadOutcome.Result.WON if won else LeadOutcome.Result.LOST, event)
