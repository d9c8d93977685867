"""Proposal templates under governance: edit a draft, submit it, an owner or admin approves.

* Editing never touches an approved version: it continues the template's open draft, or starts
  one as a copy of the newest version (``start_draft``).
* ``approve_version`` checks ``templates.approve`` itself — the rule holds whoever calls it.
* Only an approved version seeds proposals (``usable_version``); every step is audited with
  who and when.
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from throughline.core import audit_log, money
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.sales.content import clean_content, empty_content
from throughline.sales.models import CatalogueItem, ProposalTemplate, TemplateVersion
from throughline.sales.services import notify

Status = TemplateVersion.Status


def _version_changes(version: TemplateVersion) -> dict[str, Any]:
    return {
        "version": [None, version.number],
        "status": [None, version.status],
    }


@transaction.atomic
def create_template(
    actor: Actor,
    *,
    name: str,
    description: str = "",
    currency: str | None = None,
    valid_days: int = 30,
    content: dict | None = None,
) -> ProposalTemplate:
    name = " ".join((name or "").split())[:200]
    if not name:
        raise ValidationError({"name": "Give the template a name."})
    if ProposalTemplate.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A template with this name exists."})
    template = ProposalTemplate.objects.create(name=name, description=(description or "").strip())
    audit_log.record(actor, "proposal_template.created", template, changes={"name": [None, name]})
    version = TemplateVersion(
        template=template,
        number=1,
        currency=currency or Organization.current().base_currency,
        valid_days=valid_days,
        content=empty_content(),
        created_by=actor.user,
    )
    _apply(version, {"content": content if content is not None else empty_content()})
    version.save(force_insert=True)
    audit_log.record(actor, "template_version.created", version, changes=_version_changes(version))
    return template


@transaction.atomic
def update_template(actor: Actor, template: ProposalTemplate, **data: Any) -> ProposalTemplate:
    """Name, description, archived: the template's label, not its governed content."""
    template = ProposalTemplate.objects.select_for_update(of=("self",)).get(pk=template.pk)
    before = audit_log.snapshot(template)
    if "name" in data:
        name = " ".join((data["name"] or "").split())[:200]
        if not name:
            raise ValidationError({"name": "Give the template a name."})
        if ProposalTemplate.objects.filter(name__iexact=name).exclude(pk=template.pk).exists():
            raise ValidationError({"name": "A template with this name exists."})
        template.name = name
    if "description" in data:
        template.description = (data["description"] or "").strip()
    if "archived" in data:
        template.archived = bool(data["archived"])
    changes = audit_log.diff(before, audit_log.snapshot(template))
    if changes:
        template.save()
        audit_log.record(actor, "proposal_template.updated", template, changes=changes)
    return template


@transaction.atomic
def start_draft(actor: Actor, template: ProposalTemplate) -> TemplateVersion:
    """The template's open draft, or a new one copied from its newest version."""
    template = ProposalTemplate.objects.select_for_update(of=("self",)).get(pk=template.pk)
    open_version = template.working_version()
    if open_version is not None:
        if open_version.status == Status.SUBMITTED:
            # Editing what waits for approval takes it back: the approver must see the final text.
            open_version.status = Status.DRAFT
            open_version.submitted_at = None
            open_version.save(update_fields=["status", "submitted_at", "updated_at"])
            audit_log.record(
                actor,
                "template_version.withdrawn",
                open_version,
                changes={"status": [Status.SUBMITTED, Status.DRAFT]},
            )
        return open_version
    newest = template.versions.order_by("-number").first()
    number = (template.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    version = TemplateVersion(
        template=template,
        number=number,
        currency=newest.currency if newest else Organization.current().base_currency,
        valid_days=newest.valid_days if newest else 30,
        content=copy.deepcopy(newest.content) if newest else empty_content(),
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            version.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError({"__all__": "Someone else started a draft; reload."}) from exc
    audit_log.record(
        actor,
        "template_version.created",
        version,
        changes={
            **_version_changes(version),
            "copied_from": [None, newest.number if newest else None],
        },
    )
    return version


def _apply(version: TemplateVersion, data: dict[str, Any]) -> None:
    errors: dict[str, Any] = {}
    if "content" in data:
        try:
            version.content = clean_content(data["content"], with_lines=True)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "currency" in data:
        currency = (data["currency"] or "").strip().upper()
        try:
            money.minor_unit(currency)
            version.currency = currency
        except money.MoneyError as exc:
            errors["currency"] = [str(exc)]
    if "valid_days" in data:
        try:
            days = int(data["valid_days"])
            if not 1 <= days <= 365:
                raise ValueError
            version.valid_days = days
        except (TypeError, ValueError):
            errors["valid_days"] = ["Days, 1 to 365."]
    if "change_note" in data:
        version.change_note = (data["change_note"] or "").strip()[:300]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def edit_template(actor: Actor, template: ProposalTemplate, **data: Any) -> TemplateVersion:
    """Change the content (and currency, validity): always on the open draft version."""
    unknown = set(data) - {"content", "currency", "valid_days", "change_note"}
    if unknown:
        raise ValidationError({k: "Unknown field." for k in unknown})
    version = start_draft(actor, template)
    version = TemplateVersion.objects.select_for_update(of=("self",)).get(pk=version.pk)
    before = {
        "content": version.content,
        "currency": version.currency,
        "valid_days": version.valid_days,
    }
    _apply(version, data)
    after = {
        "content": version.content,
        "currency": version.currency,
        "valid_days": version.valid_days,
    }
    changes = audit_log.diff(before, after)
    version.save()
    if changes:
        audit_log.record(
            actor,
            "template_version.edited",
            version,
            changes={k: ["…", "…"] if k == "content" else v for k, v in changes.items()},
        )
    return version


@transaction.atomic
def submit_version(actor: Actor, version: TemplateVersion) -> TemplateVersion:
    version = (
        TemplateVersion.objects.select_for_update(of=("self",))
        .select_related("template")
        .get(pk=version.pk)
    )
    if version.status != Status.DRAFT:
        raise ValidationError({"status": "Only a draft can be submitted for approval."})
    clean_content(version.content, with_lines=True)  # still valid (e.g. after a rule change)
    version.status = Status.SUBMITTED
    version.submitted_at = timezone.now()
    version.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_log.record(
        actor,
        "template_version.submitted",
        version,
        changes={"status": [Status.DRAFT, Status.SUBMITTED]},
    )
    notify.email_users(
        actor,
        notify.users_with("templates.approve"),
        subject=f"Template “{version.template}” v{version.number} waits for your approval",
        template="sales/email/template_submitted.txt",
        context={
            "version": version,
            "by": actor.display,
            "url": notify.staff_url("sales:template_detail", version.template_id),
        },
        source=f"sales.templateversion:{version.pk}",
        exclude=actor.user,
    )
    return version


def _decide(actor: Actor, version: TemplateVersion, status: str, comment: str) -> TemplateVersion:
    if not actor.can("templates.approve"):
        raise PermissionDenied("Only an owner or admin approves proposal templates.")
    version = (
        TemplateVersion.objects.select_for_update(of=("self",))
        .select_related("template")
        .get(pk=version.pk)
    )
    if version.status not in (Status.SUBMITTED, Status.DRAFT):
        raise ValidationError(
            {"status": f"This version is already {version.get_status_display().lower()}."}
        )
    if status == Status.REJECTED and not (comment or "").strip():
        raise ValidationError({"comment": "Say what needs to change."})
    if status == Status.APPROVED:
        clean_content(version.content, with_lines=True)
    old = version.status
    version.status = status
    version.decided_at = timezone.now()
    version.decided_by = actor.user
    version.decision_comment = (comment or "").strip()[:2000]
    version.save(
        update_fields=["status", "decided_at", "decided_by", "decision_comment", "updated_at"]
    )
    audit_log.record(
        actor,
        f"template_version.{status}",
        version,
        changes={"status": [old, status], "comment": [None, version.decision_comment]},
    )
    if version.created_by_id and version.created_by != actor.user:
        notify.email_users(
            actor,
            [version.created_by],
            subject=f"Template “{version.template}” v{version.number} was {status}",
            template="sales/email/template_decided.txt",
            context={
                "version": version,
                "by": actor.display,
                "url": notify.staff_url("sales:template_detail", version.template_id),
            },
            source=f"sales.templateversion:{version.pk}",
        )
    return version


@transaction.atomic
def approve_version(actor: Actor, version: TemplateVersion, comment: str = "") -> TemplateVersion:
    return _decide(actor, version, Status.APPROVED, comment)


@transaction.atomic
def reject_version(actor: Actor, version: TemplateVersion, comment: str) -> TemplateVersion:
    return _decide(actor, version, Status.REJECTED, comment)


def usable_version(template_or_version: ProposalTemplate | TemplateVersion) -> TemplateVersion:
    """The approved version to build a proposal from; anything else is refused."""
    if isinstance(template_or_version, ProposalTemplate):
        if template_or_version.archived:
            raise ValidationError({"template": "This template is archived."})
        version = template_or_version.approved_version()
        if version is None:
            raise ValidationError(
                {
                    "template": "This template has no approved version yet; an owner or admin must approve it."
                }
            )
        return version
    version = template_or_version
    if version.status != Status.APPROVED:
        raise ValidationError(
            {
                "template": f"Version {version.number} of “{version.template}” is not approved ({version.get_status_display().lower()})."
            }
        )
    if version.template.archived:
        raise ValidationError({"template": "This template is archived."})
    return version


def line_from_item(
    item: CatalogueItem, *, quantity: Any = 1, discount_percent: Any = 0, option: str = ""
) -> dict[str, Any]:
    """A template or proposal line taken from the catalogue (its price and tax as of now)."""
    return {
        "item": str(item.pk),
        "description": item.name + (f"\n{item.description}" if item.description else ""),
        "quantity": str(quantity),
        "unit": item.unit,
        "unit_price": str(item.unit_price),
        "tax_rate": str(item.tax_rate),
        "tax_category": item.tax_category,
        "discount_percent": str(discount_percent),
        "option": option,
    }
