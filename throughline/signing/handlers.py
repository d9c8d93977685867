"""Signing's reactions to events (DESIGN §4).

* ``proposal.accepted`` (sales): when the organization asks for it, a contract draft is made
  from the accepted version at once.
* ``contract.signed`` (ours): the deal is won — signing is to the right of sales, so it calls
  sales' own service. Delivery and billing react to the same event themselves.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError

from throughline.core.actor import Actor
from throughline.core.events import on
from throughline.core.models import DomainEvent
from throughline.sales.models import Deal, Proposal
from throughline.sales.services import pipeline as pipeline_services
from throughline.signing.models import Contract, SigningSettings
from throughline.signing.services import contracts

logger = logging.getLogger(__name__)


@on("proposal.accepted")
def draft_contract_on_acceptance(event: DomainEvent) -> Contract | None:
    options = SigningSettings.current()
    if not options.draft_on_acceptance:
        return None
    proposal = Proposal.objects.filter(pk=event.subject_id).first()
    if proposal is None:
        return None
    existing = Contract.objects.filter(proposal=proposal).exclude(status=Contract.Status.VOIDED)
    if existing.exists():
        return existing.first()
    try:
        return contracts.create_contract(Actor.system(label="contract on acceptance"), proposal)
    except ValidationError as exc:
        # e.g. no approved default template: staff make the contract by hand.
        logger.warning("No contract draft for proposal %s: %s", proposal.pk, exc.messages)
        return None


@on("contract.signed")
def win_deal_on_signature(event: DomainEvent) -> Deal | None:
    deal = Deal.objects.filter(pk=(event.payload or {}).get("deal_id")).first()
    if deal is None or deal.status != Deal.Status.OPEN:
        return deal
    return pipeline_services.win_deal(Actor.system(label="contract signed"), deal)
