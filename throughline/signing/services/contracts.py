"""Contracts: make one from an accepted proposal, set who signs, send it, void it.

* ``create_contract`` takes an ACCEPTED proposal: its accepted version (a frozen snapshot) and
  the options the client chose; with an approved contract template, or the proposal itself
  when the organization prefers one document (``SigningSettings.document_kind``).
* ``send_contract`` freezes the parties, renders the PDF once and stores those bytes with
  their SHA-256 on a new ``SigningRequest`` — what every signer sees and signs — creates the
  signers from the plan and invites the first of them (``contract.sent``).
* ``void_contract`` withdraws it: every signer's link stops working at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events, public_tokens
from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.crm.models import Contact
from throughline.sales.models import Deal, Proposal
from throughline.signing.models import (
    Contract,
    ContractNumber,
    ContractTemplate,
    ContractTemplateVersion,
    SignatureEvidence,
    Signer,
    SigningRequest,
    SigningSettings,
)
from throughline.signing.services import ceremony, documents, evidence, notify
from throughline.signing.services.consent import CURRENT_VERSION
from throughline.signing.services.evidence import Client
from throughline.signing.services.templates import usable_version

MAX_SIGNERS = 10


def next_number() -> str:
    year = timezone.now().year
    ContractNumber.objects.get_or_create(year=year)
    counter = ContractNumber.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"C-{year}-{counter.last:04d}"


def default_plan(proposal: Proposal, actor: Actor) -> list[dict[str, Any]]:
    contact = proposal.contact or proposal.deal.contact
    countersigner = SigningSettings.current().countersigner or proposal.deal.owner or actor.user
    plan: list[dict[str, Any]] = []
    if contact is not None:
        plan.append({"contact": str(contact.pk), "order": 1})
    if countersigner is not None:
        plan.append({"user": str(countersigner.pk), "order": 2})
    return plan


def _accepted(proposal: Proposal) -> Proposal:
    proposal = Proposal.objects.select_related("deal", "contact", "accepted_version").get(
        pk=proposal.pk
    )
    if proposal.status != Proposal.Status.ACCEPTED or proposal.accepted_version is None:
        raise ValidationError(
            {"proposal": "Only an accepted proposal can become a contract to sign."}
        )
    if proposal.deal.status == Deal.Status.LOST:
        raise ValidationError({"proposal": "The deal is lost; reopen it first."})
    return proposal


def _template_version(template: Any) -> ContractTemplateVersion:
    if template is None:
        template = SigningSettings.current().default_template
        if template is None:
            raise ValidationError(
                {"template": "Choose a contract template (or sign the proposal itself)."}
            )
    if not isinstance(template, ContractTemplate | ContractTemplateVersion):
        template = ContractTemplate.objects.filter(pk=template).first()
        if template is None:
            raise ValidationError({"template": "No such contract template."})
    return usable_version(template)


@transaction.atomic
def create_contract(
    actor: Actor,
    proposal: Proposal,
    *,
    kind: str | None = None,
    template: Any = None,
    title: str = "",
) -> Contract:
    """A draft contract from an accepted proposal (one live contract per proposal)."""
    proposal = _accepted(proposal)
    existing = (
        Contract.objects.filter(proposal=proposal).exclude(status=Contract.Status.VOIDED).first()
    )
    if existing is not None:
        raise ValidationError(
            {"proposal": f"Contract {existing.number} exists for this proposal; void it first."}
        )
    kind = kind or SigningSettings.current().document_kind
    if kind not in Contract.Kind.values:
        raise ValidationError({"kind": "Choose a contract or the proposal itself."})
    version = _template_version(template) if kind == Contract.Kind.CONTRACT else None
    acceptance = getattr(proposal, "acceptance", None)
    title = " ".join((title or "").split())[:200] or (
        f"Agreement: {proposal.title}" if kind == Contract.Kind.CONTRACT else proposal.title
    )
    contract = Contract.objects.create(
        number=next_number(),
        title=title[:200],
        kind=kind,
        deal=proposal.deal,
        proposal=proposal,
        proposal_version=proposal.accepted_version,
        selected_options=list(acceptance.selected_options) if acceptance else [],
        template_version=version,
        owner=proposal.owner or proposal.deal.owner or actor.user,
        created_by=actor.user,
        signer_plan=default_plan(proposal, actor),
    )
    audit_log.record(
        actor,
        "contract.created",
        contract,
        changes={
            "proposal": [None, proposal.number],
            "version": [None, proposal.accepted_version.number],
            "kind": [None, kind],
            "template_version": [None, str(version) if version else None],
        },
    )
    return contract


def resolve_plan(contract: Contract, plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan as signers (name, e-mail, role, order), checked."""
    if not isinstance(plan, list) or not plan:
        raise ValidationError({"signers": "Add at least one signer."})
    if len(plan) > MAX_SIGNERS:
        raise ValidationError({"signers": f"At most {MAX_SIGNERS} signers."})
    out, seen = [], set()
    for entry in plan:
        try:
            order = int(entry.get("order") or 1)
        except (TypeError, ValueError, AttributeError) as exc:
            raise ValidationError({"signers": "Each signer needs an order number."}) from exc
        if not 1 <= order <= 20:
            raise ValidationError({"signers": "Signing order is a number from 1 to 20."})
        if entry.get("contact"):
            contact = Contact.objects.filter(pk=entry["contact"]).first()
            if contact is None:
                raise ValidationError({"signers": "A signer's contact no longer exists."})
            allowed = {contract.deal.contact_id, contract.proposal.contact_id}
            company = contract.deal.company_id
            if contact.pk not in allowed and (not company or contact.company_id != company):
                raise ValidationError(
                    {"signers": f"{contact} is not a contact of this deal's client."}
                )
            person = {"contact": contact, "user": None, "role": Signer.Role.CLIENT}
            name, email = contact.full_name or contact.email, contact.email
        elif entry.get("user"):
            user = User.objects.filter(pk=entry["user"], is_active=True).first()
            if user is None:
                raise ValidationError({"signers": "The countersigner is not an active user."})
            person = {"contact": None, "user": user, "role": Signer.Role.COUNTERSIGNER}
            name, email = user.full_name or user.email, user.email
        else:
            raise ValidationError({"signers": "A signer is a contact or one of our users."})
        if not email:
            raise ValidationError({"signers": f"{name} has no e-mail address."})
        if email.lower() in seen:
            raise ValidationError({"signers": f"{email} is listed twice."})
        seen.add(email.lower())
        out.append({**person, "name": name[:200], "email": email, "order": order})
    if not any(s["role"] == Signer.Role.CLIENT for s in out):
        raise ValidationError({"signers": "At least one client contact must sign."})
    return sorted(out, key=lambda s: s["order"])


def _editable(contract: Contract) -> Contract:
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("deal", "proposal", "proposal_version", "template_version")
        .get(pk=contract.pk)
    )
    if not contract.is_editable:
        raise ValidationError(
            {"__all__": f"The contract is {contract.get_status_display().lower()}."}
        )
    return contract


@transaction.atomic
def update_contract(actor: Actor, contract: Contract, **data: Any) -> Contract:
    """While not out for signature: ``title``, ``template``, ``signers`` (plan), ``sequential``."""
    unknown = set(data) - {"title", "template", "signers", "sequential"}
    if unknown:
        raise ValidationError({k: "Unknown field." for k in unknown})
    contract = _editable(contract)
    changes: dict[str, Any] = {}
    if "title" in data:
        title = " ".join((data["title"] or "").split())[:200]
        if not title:
            raise ValidationError({"title": "Give the contract a title."})
        changes["title"] = [contract.title, title]
        contract.title = title
    if "template" in data and contract.kind == Contract.Kind.CONTRACT:
        version = _template_version(data["template"])
        changes["template_version"] = [str(contract.template_version), str(version)]
        contract.template_version = version
    if "signers" in data:
        resolve_plan(contract, data["signers"])
        plan = [
            {
                **({"contact": str(e["contact"])} if e.get("contact") else {}),
                **({"user": str(e["user"])} if e.get("user") else {}),
                "order": int(e.get("order") or 1),
            }
            for e in data["signers"]
        ]
        changes["signers"] = [len(contract.signer_plan), len(plan)]
        contract.signer_plan = plan
    if "sequential" in data:
        changes["sequential"] = [contract.sequential, bool(data["sequential"])]
        contract.sequential = bool(data["sequential"])
    contract.save()
    audit_log.record(actor, "contract.updated", contract, changes=changes)
    return contract


def _expiry(days: Any) -> dt.datetime:
    if days in (None, ""):
        days = SigningSettings.current().link_days
    try:
        days = int(days)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"expires_in_days": "A number of days, 1 to 365."}) from exc
    if not 1 <= days <= 365:
        raise ValidationError({"expires_in_days": "A number of days, 1 to 365."})
    return timezone.now() + dt.timedelta(days=days)


@transaction.atomic
def send_contract(
    actor: Actor, contract: Contract, *, message: str = "", expires_in_days: Any = None
) -> SigningRequest:
    from throughline.signing.services.certificates import ensure_certificate

    contract = _editable(contract)
    _accepted(contract.proposal)
    if contract.kind == Contract.Kind.CONTRACT:
        # Still approved and not archived: what is sent is what an owner approved.
        usable_version(contract.template_version)
    people = resolve_plan(contract, contract.signer_plan)
    expires_at = _expiry(expires_in_days)
    ensure_certificate(actor)  # the seal's certificate exists before anyone signs
    now = timezone.now()
    # DESIGN §3: the parties and figures as accepted, frozen with the clauses.
    contract.parties = contract.proposal_version.parties
    contract.rendered = {"clauses": documents.rendered_clauses(contract, contract.parties)}
    roster = [{"name": p["name"], "email": p["email"], "role": p["role"]} for p in people]
    pdf = documents.render_pdf(contract, signers=roster)
    request = SigningRequest(
        contract=contract,
        sequential=contract.sequential,
        message=(message or "").strip()[:5000],
        sent_at=now,
        sent_by=actor.user,
        expires_at=expires_at,
        document_sha256=evidence.sha256(pdf),
        document_pages=documents.page_count(pdf),
        consent_version=CURRENT_VERSION,
    )
    request.document.save(f"{contract.number}.pdf", ContentFile(pdf), save=False)
    request.save(force_insert=True)
    for person in people:
        Signer.objects.create(
            request=request,
            order=person["order"],
            role=person["role"],
            contact=person["contact"],
            user=person["user"],
            name=person["name"],
            email=person["email"],
        )
    evidence.record(
        request,
        SignatureEvidence.Event.SENT,
        Client(actor),
        document_sha256=request.document_sha256,
        details={
            "contract": contract.number,
            "signers": [f"{p['order']}. {p['name']} <{p['email']}>" for p in people],
            "sequential": request.sequential,
            "expires_at": expires_at.isoformat(timespec="seconds"),
            "pages": request.document_pages,
        },
    )
    contract.status = Contract.Status.SENT
    contract.sent_at = now
    contract.save(update_fields=["status", "sent_at", "parties", "rendered", "updated_at"])
    ceremony.invite_due(actor, request)
    audit_log.record(
        actor,
        "contract.sent",
        contract,
        changes={
            "request": [None, str(request.pk)],
            "document_sha256": [None, request.document_sha256],
            "signers": [None, [p["email"] for p in people]],
            "expires_at": [None, expires_at],
        },
    )
    events.emit(
        actor,
        "contract.sent",
        contract,
        request_id=str(request.pk),
        deal_id=str(contract.deal_id),
        proposal_id=str(contract.proposal_id),
        document_sha256=request.document_sha256,
        signers=len(people),
        expires_at=expires_at.isoformat(),
    )
    return request


@transaction.atomic
def void_contract(actor: Actor, contract: Contract, reason: str) -> Contract:
    """Withdraw a contract (out for signature or draft); its links stop working at once."""
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise ValidationError({"reason": "Say why the contract is voided."})
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    if contract.status not in (Contract.Status.SENT, *Contract.EDITABLE):
        raise ValidationError(
            {"__all__": f"A {contract.get_status_display().lower()} contract cannot be voided."}
        )
    request = contract.current_request()
    if request is not None:
        request = SigningRequest.objects.select_for_update().get(pk=request.pk)
    if request is not None and request.status == SigningRequest.Status.SEALING:
        raise ValidationError({"__all__": "Everyone has signed; the contract is being sealed."})
    old = contract.status
    now = timezone.now()
    if request is not None and request.status == SigningRequest.Status.OPEN:
        request.status = SigningRequest.Status.VOIDED
        request.ended_at, request.end_reason = now, reason
        request.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
        ceremony.revoke_links(request)
        evidence.record(
            request, SignatureEvidence.Event.VOIDED, Client(actor), details={"reason": reason}
        )
        for signer in request.signers.exclude(invited_at=None):
            notify.send_voided(actor, signer, reason)
    contract.status = Contract.Status.VOIDED
    contract.voided_at, contract.void_reason = now, reason
    contract.save(update_fields=["status", "voided_at", "void_reason", "updated_at"])
    audit_log.record(
        actor,
        "contract.voided",
        contract,
        changes={"status": [old, Contract.Status.VOIDED], "reason": [None, reason]},
    )
    return contract


def revoke_all(request: SigningRequest) -> int:
    return sum(public_tokens.revoke_tokens(ceremony.TOKEN_SCOPE, s) for s in request.signers.all())
