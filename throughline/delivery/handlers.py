"""Delivery's reactions to other apps' events (DESIGN §2: signing does not import us).

``contract.signed`` → the project, kicked off from the template chosen for the proposal
(fallback: the organization's default template), with its brief and onboarding tasks.
Handled once per event (core.events); a redelivered event finds the project already made.
"""

from __future__ import annotations

import logging

from throughline.core.actor import Actor
from throughline.core.events import on
from throughline.core.models import Channel, DomainEvent
from throughline.delivery.services import kickoff
from throughline.signing.models import Contract

logger = logging.getLogger(__name__)


@on("contract.signed")
def kick_off_project(event: DomainEvent) -> str:
    contract = Contract.objects.filter(pk=event.subject_id).first()
    if contract is None or event.subject_type != "signing.contract":
        logger.info("contract.signed %s: no contract %s", event.id, event.subject_id)
        return "no contract"
    if (contract.proposal.contact or contract.deal.contact) is None:
        logger.warning("contract.signed %s: contract %s has no client contact", event.id, contract)
        return "no client contact"
    actor = Actor.system(Channel.WORKER, label="delivery on contract.signed")
    project = kickoff.kickoff_from_contract(actor, contract, event.payload or {}, cause=event)
    return f"project {project.pk}"
