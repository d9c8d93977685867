"""Proposals: create from a deal and an approved template, edit the draft, send, revise.

* ``create_proposal`` fills everything from what the CRM knows (contact, company, deal, owner,
  organization) and the approved template version; nothing is typed again.
* A version is edited while it is a draft. Figures are always recomputed here
  (``recompute``) from quantities, prices, discounts and tax rates — never taken from a form.
* ``send_proposal`` refuses while an approval rule is unmet (``approvals.ApprovalRequired``),
  freezes the version with a fresh snapshot of the parties (DESIGN §3), supersedes the version
  sent before, and e-mails the client a magic link.
* ``revise_proposal`` starts the next version as a copy: the previous one stays as it was sent.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import formats, timezone

from throughline.core import audit_log, events, money, public_tokens
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.sales.content import clean_content, clean_lines, default_selection
from throughline.sales.merge import merge_context, parties_snapshot, render_html
from throughline.sales.models import (
    CatalogueItem,
    Deal,
    Proposal,
    ProposalApproval,
    ProposalLine,
    ProposalNumber,
    ProposalTemplate,
    ProposalVersion,
    TemplateVersion,
)
from throughline.sales.services import notify, pricing
from throughline.sales.services.pipeline import touch
from throughline.sales.services.templates import usable_version

VStatus = ProposalVersion.Status
TOKEN_SCOPE = "proposal"  # noqa: S105 - a scope name, not a secret
# A link keeps working a while after the proposal's validity, so the client can still read it.
LINK_GRACE = dt.timedelta(days=30)
LINE_FIELDS = (
    "catalogue_item",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "tax_category",
    "option",
)


def today() -> dt.date:
    """Today in the organization's time zone (validity dates are the client's calendar)."""
    import zoneinfo

    return timezone.now().astimezone(zoneinfo.ZoneInfo(Organization.current().time_zone)).date()


def next_number() -> str:
    year = timezone.now().year
    ProposalNumber.objects.get_or_create(year=year)
    counter = ProposalNumber.objects.select_for_update(of=("self",)).get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"P-{year}-{counter.last:04d}"


def _parties(proposal: Proposal) -> dict:
    deal = proposal.deal
    contact = proposal.contact or deal.contact
    return parties_snapshot(
        organization=Organization.current(),
        contact=contact,
        company=deal.company or (contact.company if contact else None),
        owner=proposal.owner or deal.owner,
        deal=deal,
    )


def line_dicts(version: ProposalVersion) -> list[dict[str, Any]]:
    return [
        {
            "item": str(line.catalogue_item_id) if line.catalogue_item_id else None,
            "description": line.description,
            "quantity": money.plain(line.quantity),
            "unit": line.unit,
            "unit_price": str(money.quantize_price(line.unit_price)),
            "tax_rate": str(money.quantize_rate(line.tax_rate)),
            "tax_category": line.tax_category,
            "discount_percent": str(money.quantize_rate(line.discount_percent)),
            "option": line.option,
        }
        for line in version.lines.all()
    ]


def commercial_hash(version: ProposalVersion, lines: list[dict] | None = None) -> str:
    """What approval is given for and the client accepts: content, lines, discount, validity."""
    payload = {
        "content": version.content,
        "lines": lines if lines is not None else line_dicts(version),
        "discount_percent": str(money.quantize_rate(version.discount_percent)),
        "valid_until": version.valid_until.isoformat(),
        "currency": version.proposal.currency,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def proposal_meta(version: ProposalVersion) -> dict[str, str]:
    proposal = version.proposal
    return {
        "number": proposal.number,
        "title": proposal.title,
        "version": str(version.number),
        "valid_until": formats.date_format(version.valid_until, "j F Y"),
        "total": money.format_money(version.gross_total, proposal.currency),
        "currency": proposal.currency,
    }


def recompute(version: ProposalVersion) -> ProposalVersion:
    """Line nets, totals, rendered text and hash, from the stored inputs. Saves the version."""
    currency = version.proposal.currency
    lines = list(version.lines.all())
    for line in lines:
        net = pricing.line_net(line, currency)
        if line.net_amount != net:
            line.net_amount = net
            line.save(update_fields=["net_amount"])
    options = version.content.get("options", [])
    totals = pricing.default_totals(lines, options, currency, version.discount_percent)
    version.net_total, version.tax_total, version.gross_total = totals.net, totals.tax, totals.gross
    version.totals = pricing.totals_json(totals)
    context = merge_context(version.parties, proposal_meta(version))
    version.rendered = {
        "sections": [
            {"title": s["title"], "html": render_html(s["body"], context)}
            for s in version.content.get("sections", [])
        ],
        "terms_html": render_html(version.content.get("terms", ""), context),
    }
    version.content_hash = commercial_hash(version)
    version.save()
    return version


def _make_lines(version: ProposalVersion, lines: list[dict[str, Any]]) -> None:
    item_ids = {line["item"] for line in lines if line.get("item")}
    items = {str(i.pk): i for i in CatalogueItem.objects.filter(pk__in=item_ids)}
    ProposalLine.objects.bulk_create(
        [
            ProposalLine(
                version=version,
                position=position,
                catalogue_item=items.get(line.get("item") or ""),
                description=line["description"],
                quantity=Decimal(line["quantity"]),
                unit=line["unit"],
                unit_price=Decimal(line["unit_price"]),
                discount_percent=Decimal(line["discount_percent"]),
                tax_rate=Decimal(line["tax_rate"]),
                tax_category=line["tax_category"],
                option=line["option"],
            )
            for position, line in enumerate(lines, start=1)
        ]
    )


def _check_currency(lines: list[dict], currency: str) -> None:
    item_ids = {line["item"] for line in lines if line.get("item")}
    for item in CatalogueItem.objects.filter(pk__in=item_ids).exclude(currency=currency):
        raise ValidationError(
            {"lines": f"“{item}” is priced in {item.currency}; this proposal is in {currency}."}
        )


@transaction.atomic
def create_proposal(
    actor: Actor,
    deal: Deal,
    template: ProposalTemplate | TemplateVersion,
    *,
    title: str = "",
) -> Proposal:
    """One action: a draft proposal for ``deal`` from an approved template version."""
    source = usable_version(template)
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("contact", "company", "owner")
        .get(pk=deal.pk)
    )
    if deal.status == Deal.Status.LOST:
        raise ValidationError({"deal": "The deal is lost; reopen it first."})
    if deal.currency != source.currency:
        raise ValidationError(
            {
                "template": f"The template is priced in {source.currency} and the deal in "
                f"{deal.currency}; use a template in {deal.currency} or change the deal's currency."
            }
        )
    client = deal.contact.company if deal.contact and deal.contact.company else deal.company
    title = (
        " ".join((title or "").split())[:200]
        or (f"{source.template.name} for {client or deal.contact or deal.title}")[:200]
    )
    proposal = Proposal.objects.create(
        number=next_number(),
        title=title,
        deal=deal,
        template_version=source,
        owner=deal.owner or actor.user,
        contact=deal.contact,
        currency=source.currency,
        qualified_at=deal.qualified_at or deal.created_at,
    )
    content = copy.deepcopy(source.content)
    lines = content.pop("lines", [])
    version = ProposalVersion.objects.create(
        proposal=proposal,
        number=1,
        content=content,
        parties=_parties(proposal),
        valid_until=today() + dt.timedelta(days=source.valid_days),
        created_by=actor.user,
    )
    _make_lines(version, lines)
    recompute(version)
    audit_log.record(
        actor,
        "proposal.created",
        proposal,
        changes={
            "deal": [None, str(deal.pk)],
            "template_version": [None, f"{source.template.name} v{source.number}"],
            "gross_total": [None, str(money.quantize(version.gross_total, proposal.currency))],
        },
    )
    touch(deal)
    return proposal


def working_version(proposal: Proposal) -> ProposalVersion | None:
    latest = proposal.latest_version()
    return latest if latest is not None and latest.is_editable else None


def _editable(version: ProposalVersion) -> ProposalVersion:
    version = (
        ProposalVersion.objects.select_for_update(of=("self",))
        .select_related("proposal")
        .get(pk=version.pk)
    )
    if not version.is_editable:
        raise ValidationError(
            {"__all__": f"Version {version.number} was {version.status}; revise to change it."}
        )
    if version.proposal.status in (Proposal.Status.ACCEPTED, Proposal.Status.WITHDRAWN):
        raise ValidationError({"__all__": f"The proposal is {version.proposal.status}."})
    return version


@transaction.atomic
def update_draft(actor: Actor, version: ProposalVersion, **data: Any) -> ProposalVersion:
    """Change a working version: ``lines`` (replaced as a whole), ``content`` parts,
    ``discount_percent``, ``valid_until``, ``change_note``. Any change voids an approval."""
    allowed = {"lines", "content", "discount_percent", "valid_until", "change_note", "title"}
    unknown = set(data) - allowed
    if unknown:
        raise ValidationError({k: "Unknown field." for k in unknown})
    version = _editable(version)
    proposal = version.proposal
    before_hash = version.content_hash
    before_lines = line_dicts(version)
    before = {
        "discount_percent": str(version.discount_percent),
        "valid_until": version.valid_until,
        "gross_total": str(version.gross_total),
    }
    errors: dict[str, Any] = {}
    if "content" in data:
        merged = {**version.content, **(data["content"] or {}), "lines": []}
        try:
            content = clean_content(merged, with_lines=False)
            content.pop("lines", None)
            version.content = content
        except ValidationError as exc:
            errors.update(exc.message_dict)
    lines = None
    if "lines" in data:
        line_errors: dict[str, Any] = {}
        lines = clean_lines(data["lines"], line_errors)
        errors.update(line_errors)
        option_keys = {o["key"] for o in version.content.get("options", [])}
        for i, line in enumerate(lines):
            if line["option"] and line["option"] not in option_keys:
                errors[f"lines.{i}.option"] = [f"No option {line['option']!r}."]
        if not line_errors:
            try:
                _check_currency(lines, proposal.currency)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if "discount_percent" in data:
        try:
            discount = money.quantize_rate(data["discount_percent"] or "0")
            if not 0 <= discount <= 100:
                raise money.MoneyError
            version.discount_percent = discount
        except money.MoneyError:
            errors["discount_percent"] = ["A percentage from 0 to 100."]
    if "valid_until" in data:
        value = data["valid_until"]
        if not isinstance(value, dt.date) or value < today():
            errors["valid_until"] = ["Give a date from today on."]
        else:
            version.valid_until = value
    if "change_note" in data:
        version.change_note = (data["change_note"] or "").strip()[:2000]
    if "title" in data:
        title = " ".join((data["title"] or "").split())[:200]
        if not title:
            errors["title"] = ["Give the proposal a title."]
        elif title != proposal.title:
            audit_log.record(
                actor, "proposal.renamed", proposal, changes={"title": [proposal.title, title]}
            )
            proposal.title = title
            proposal.save(update_fields=["title", "updated_at"])
    if errors:
        raise ValidationError(errors)
    if lines is not None:
        version.lines.all().delete()
        _make_lines(version, lines)
    recompute(version)
    if version.content_hash != before_hash:
        _void_approval(actor, version)
    changes = audit_log.diff(
        before,
        {
            "discount_percent": str(version.discount_percent),
            "valid_until": version.valid_until,
            "gross_total": str(version.gross_total),
        },
    )
    if lines is not None and lines != before_lines:
        changes["lines"] = [len(before_lines), len(lines)]
    if "content" in data:
        changes["content"] = sorted((data["content"] or {}).keys())
    if changes:
        audit_log.record(actor, "proposal.draft_updated", version, changes=changes)
    touch(proposal.deal)
    return version


def _void_approval(actor: Actor, version: ProposalVersion) -> None:
    """The content changed: a pending request is cancelled, a granted approval lapses."""
    cancelled = version.approvals.filter(status=ProposalApproval.Status.PENDING).update(
        status=ProposalApproval.Status.CANCELLED, updated_at=timezone.now()
    )
    if version.status != VStatus.DRAFT:
        old = version.status
        version.status = VStatus.DRAFT
        version.save(update_fields=["status", "updated_at"])
        audit_log.record(
            actor,
            "proposal.approval_voided",
            version,
            changes={"status": [old, VStatus.DRAFT], "cancelled_requests": [None, cancelled]},
        )


def client_link(proposal: Proposal, version: ProposalVersion) -> str:
    """A fresh magic link to the proposal page (only its hash is stored)."""
    end_of_validity = dt.datetime.combine(
        version.valid_until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC
    )
    raw = public_tokens.issue_token(
        TOKEN_SCOPE, proposal, expires_at=max(end_of_validity, timezone.now()) + LINK_GRACE
    )
    return notify.absolute(reverse("sales_portal:proposal", args=[raw]))


def client_address(proposal: Proposal) -> tuple[str, Any]:
    contact = proposal.contact or proposal.deal.contact
    if contact is None or not contact.email:
        raise ValidationError(
            {"contact": "The proposal's contact has no e-mail address to send it to."}
        )
    return contact.email, contact


@transaction.atomic
def send_proposal(actor: Actor, proposal: Proposal, *, message: str = "") -> ProposalVersion:
    from throughline.sales.services.approvals import ApprovalRequired, approval_reasons, is_approved

    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("deal", "contact")
        .get(pk=proposal.pk)
    )
    if proposal.status in (Proposal.Status.ACCEPTED, Proposal.Status.WITHDRAWN):
        raise ValidationError({"__all__": f"The proposal is {proposal.status}."})
    version = working_version(proposal)
    if version is None:
        raise ValidationError({"__all__": "Nothing new to send: revise the proposal first."})
    version = _editable(version)
    to, contact = client_address(proposal)
    if version.valid_until < today():
        raise ValidationError({"valid_until": "The validity date has passed; set a new one."})
    if not version.lines.exists():
        raise ValidationError({"lines": "Add at least one line before sending."})
    # DESIGN §3: the parties as they are now, frozen with this version.
    version.parties = _parties(proposal)
    recompute(version)
    reasons = approval_reasons(version)
    if reasons and not is_approved(version):
        raise ApprovalRequired(reasons)
    now = timezone.now()
    superseded = list(
        proposal.versions.filter(status=VStatus.SENT)
        .exclude(pk=version.pk)
        .values_list("number", flat=True)
    )
    proposal.versions.filter(status=VStatus.SENT).exclude(pk=version.pk).update(
        status=VStatus.SUPERSEDED, updated_at=now
    )
    version.status = VStatus.SENT
    version.sent_at = now
    version.sent_by = actor.user
    version.reminder_sent_at = None
    version.save(update_fields=["status", "sent_at", "sent_by", "reminder_sent_at", "updated_at"])
    first = proposal.sent_at is None
    proposal.status = Proposal.Status.SENT
    proposal.sent_at = proposal.sent_at or now
    proposal.expired_at = None
    proposal.save(update_fields=["status", "sent_at", "expired_at", "updated_at"])
    link = client_link(proposal, version)
    notify.email_client(
        actor,
        to=to,
        contact=contact,
        subject=(
            f"Proposal {proposal.number}: {proposal.title}"
            if first
            else f"Updated proposal {proposal.number} (version {version.number}): {proposal.title}"
        ),
        template="sales/email/proposal_sent.txt",
        context={
            "proposal": proposal,
            "version": version,
            "link": link,
            "message": (message or "").strip()[:5000],
            "first": first,
            "sender": actor.user,
        },
        source=f"sales.proposal:{proposal.pk}",
        reply_to=actor.user.email if actor.user else "",
    )
    audit_log.record(
        actor,
        "proposal.sent",
        proposal,
        changes={
            "version": [None, version.number],
            "superseded": [None, superseded],
            "to": [None, to],
            "gross_total": [None, str(money.quantize(version.gross_total, proposal.currency))],
        },
    )
    events.emit(
        actor,
        "proposal.sent",
        proposal,
        version=version.number,
        first=first,
        currency=proposal.currency,
        net_total=str(money.quantize(version.net_total, proposal.currency)),
        gross_total=str(money.quantize(version.gross_total, proposal.currency)),
        valid_until=version.valid_until.isoformat(),
        deal_id=str(proposal.deal_id),
    )
    touch(proposal.deal)
    return version


@transaction.atomic
def revise_proposal(
    actor: Actor, proposal: Proposal, *, note: str = "", requested_in=None
) -> ProposalVersion:
    """Start the next version as a copy of the newest one (which stays as it was sent)."""
    proposal = Proposal.objects.select_for_update(of=("self",)).get(pk=proposal.pk)
    if proposal.status in (Proposal.Status.ACCEPTED, Proposal.Status.WITHDRAWN):
        raise ValidationError({"__all__": f"The proposal is {proposal.status}."})
    latest = proposal.latest_version()
    if latest.is_editable:
        return latest
    number = (proposal.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    valid_until = latest.valid_until
    if valid_until < today():
        valid_until = today() + dt.timedelta(days=proposal.template_version.valid_days)
    version = ProposalVersion(
        proposal=proposal,
        number=number,
        content=copy.deepcopy(latest.content),
        parties=_parties(proposal),
        discount_percent=latest.discount_percent,
        valid_until=valid_until,
        change_note=(note or "").strip()[:2000],
        requested_in=requested_in,
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            version.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError({"__all__": "Someone else started a revision; reload."}) from exc
    _make_lines(version, line_dicts(latest))
    recompute(version)
    audit_log.record(
        actor,
        "proposal.revised",
        proposal,
        changes={"version": [latest.number, number], "note": [None, version.change_note]},
    )
    events.emit(
        actor,
        "proposal.revised",
        proposal,
        version=number,
        previous_version=latest.number,
        requested_in=str(requested_in.pk) if requested_in else None,
    )
    touch(proposal.deal)
    return version


# Views of the client page are counted; an event is emitted for the first view of each version
# and then at most once per VIEW_EVENT_GAP, so reloading the page does not flood automations.
VIEW_EVENT_GAP = dt.timedelta(minutes=30)


@transaction.atomic
def record_view(actor: Actor, proposal: Proposal, version: ProposalVersion) -> Proposal:
    proposal = Proposal.objects.select_for_update(of=("self",)).get(pk=proposal.pk)
    now = timezone.now()
    first = proposal.first_viewed_at is None
    previous = proposal.last_viewed_at
    new_version = proposal.last_viewed_version != version.number
    proposal.view_count += 1
    proposal.first_viewed_at = proposal.first_viewed_at or now
    proposal.last_viewed_at = now
    proposal.last_viewed_version = version.number
    proposal.save(
        update_fields=[
            "view_count",
            "first_viewed_at",
            "last_viewed_at",
            "last_viewed_version",
            "updated_at",
        ]
    )
    if first or new_version or previous is None or now - previous >= VIEW_EVENT_GAP:
        audit_log.record(
            actor,
            "proposal.viewed",
            proposal,
            changes={"version": [None, version.number], "view_count": [None, proposal.view_count]},
        )
        events.emit(
            actor,
            "proposal.viewed",
            proposal,
            version=version.number,
            first=first,
            view_count=proposal.view_count,
        )
    return proposal


def selection_or_default(version: ProposalVersion, chosen: list[str] | None) -> list[str]:
    options = version.content.get("options", [])
    return default_selection(options) if chosen is None else chosen
