"""Kick-off by itself: a signed contract becomes a project with its brief filled in.

The brief is taken from the records the contract points at (DESIGN §3, no re-entry): the deal
(notes, owner), the accepted proposal version (lines as deliverables, in/out of scope,
milestones, payment schedule) and the contract (number, signers). A redelivered
``contract.signed`` finds the project already made (``Project.contract`` is unique).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, money
from throughline.core.actor import Actor
from throughline.crm.models import Contact
from throughline.delivery.models import Project
from throughline.delivery.services import projects, templates
from throughline.sales.services import pricing
from throughline.signing.models import Contract


def _person(contact: Contact, role: str) -> dict[str, Any]:
    return {
        "id": str(contact.pk),
        "name": contact.full_name or contact.email,
        "email": contact.email,
        "phone": getattr(contact, "phone", "") or "",
        "role": role,
    }


def build_brief(
    proposal, version, selection: list[str], contract: Contract | None, payload: dict[str, Any]
) -> dict[str, Any]:
    deal = proposal.deal
    content = version.content or {}
    selection = set(selection or [])
    contacts, seen = [], set()
    primary = proposal.contact or deal.contact
    for contact, role in [(primary, "Main contact"), (deal.contact, "Deal contact")]:
        if contact is not None and contact.pk not in seen:
            contacts.append(_person(contact, role))
            seen.add(contact.pk)
    plan = contract.signer_plan if contract else []
    signer_ids = [e.get("contact") for e in plan or [] if e.get("contact")]
    for contact in Contact.objects.filter(pk__in=signer_ids):
        if contact.pk not in seen:
            contacts.append(_person(contact, "Signer"))
            seen.add(contact.pk)
    deliverables = [
        {
            "description": line.description,
            "quantity": money.plain(line.quantity),
            "unit": line.unit,
            "net_amount": str(money.quantize(line.net_amount, proposal.currency)),
        }
        for line in version.lines.order_by("position")
        if not line.option or line.option in selection
    ]
    accepted_on = _start(proposal, contract)
    milestones = [
        {
            "title": m.get("title", ""),
            "offset_days": m.get("offset_days"),
            "due_date": (
                (accepted_on + dt.timedelta(days=m["offset_days"])).isoformat()
                if m.get("offset_days") is not None
                else None
            ),
        }
        for m in content.get("milestones") or []
    ]
    schedule = content.get("payment_schedule") or {}
    gross = money.to_decimal(payload.get("gross_total") or version.gross_total or 0)
    instalments = [
        {**item, "amount": str(item["amount"])}
        for item in pricing.schedule_amounts(schedule, gross, proposal.currency)
    ]
    return {
        "contacts": contacts,
        "owner": deal.owner.email if deal.owner_id else "",
        "deliverables": deliverables,
        "in_scope": list(content.get("in_scope") or []),
        "out_of_scope": list(content.get("out_of_scope") or []),
        "milestones": milestones,
        "payment_schedule": {
            "kind": schedule.get("kind", ""),
            "term_months": schedule.get("term_months"),
            "items": instalments,
        },
        "totals": payload.get("totals") or version.totals or {},
        "notes": deal.notes or "",
        "deal": {"id": str(deal.pk), "title": deal.title},
        "proposal": {
            "id": str(proposal.pk),
            "number": proposal.number,
            "title": proposal.title,
            "version": version.number,
        },
        "contract": (
            {
                "id": str(contract.pk),
                "number": contract.number,
                "signed_at": contract.signed_at.isoformat() if contract.signed_at else None,
            }
            if contract
            else {}
        ),
    }


def _start(proposal, contract: Contract | None) -> dt.date:
    when = proposal.accepted_at or (contract and (contract.signed_at or contract.created_at))
    return (when or timezone.now()).date()


@transaction.atomic
def kickoff_from_contract(
    actor: Actor, contract: Contract, payload: dict[str, Any], *, cause=None
) -> Project:
    """The project of a signed contract (made once; a second call returns it)."""
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    existing = Project.objects.filter(contract=contract).first()
    if existing is not None:
        return existing
    started = Project.objects.filter(proposal=contract.proposal, contract__isnull=True).first()
    if started is not None:
        # Started by hand before the signature: the contract joins that project.
        started.contract = contract
        started.brief = {
            **started.brief,
            "contract": build_brief(
                contract.proposal,
                contract.proposal_version,
                list(contract.selected_options or []),
                contract,
                payload,
            )["contract"],
        }
        started.save(update_fields=["contract", "brief", "updated_at"])
        audit_log.record(
            actor, "project.contract_linked", started, changes={"contract": [None, contract.number]}
        )
        return started
    return _kickoff(
        actor,
        contract.proposal,
        contract.proposal_version,
        list(contract.selected_options or []),
        contract,
        payload,
        cause=cause,
    )


@transaction.atomic
def kickoff_from_proposal(actor: Actor, proposal) -> Project:
    """A project straight from an accepted proposal (no contract to sign, the demo); once."""
    from throughline.sales.models import Proposal

    proposal = Proposal.objects.select_for_update().get(pk=proposal.pk)
    existing = Project.objects.filter(proposal=proposal).first()
    if existing is not None:
        return existing
    version = proposal.accepted_version
    if version is None:
        raise ValidationError({"proposal": "Only an accepted proposal starts a project."})
    acceptance = getattr(proposal, "acceptance", None)
    selection = list(acceptance.selected_options) if acceptance else []
    return _kickoff(actor, proposal, version, selection, None, {})


def _kickoff(actor, proposal, version, selection, contract, payload, cause=None) -> Project:
    deal = proposal.deal
    contact = proposal.contact or deal.contact
    brief = build_brief(proposal, version, selection, contract, payload)
    content = version.content or {}
    schedule = content.get("payment_schedule") or {}
    net = money.to_decimal(payload.get("net_total") or version.net_total or 0)
    retainer = schedule.get("kind") == "retainer"
    owner = (contract.owner if contract else None) or deal.owner or proposal.owner
    return projects.create_project(
        actor,
        contact=contact,
        name=proposal.title or deal.title,
        template_version=templates.template_for_proposal(proposal),
        owner=owner,
        deal=deal,
        proposal=proposal,
        contract=contract,
        start_date=_start(proposal, contract),
        brief=brief,
        currency=proposal.currency,
        proposal_milestones=content.get("milestones") or None,
        payment_schedule=schedule,
        net_total=net,
        retainer_amount=net if retainer else None,
        retainer_months=schedule.get("term_months") if retainer else None,
        cause=cause,
    )
