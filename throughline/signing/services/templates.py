"""Contract templates under governance, the same rules as sales' proposal templates.

Sales' helpers there are bound to its own models, so this is the small equivalent: edit a
draft version, submit it, an owner or admin (``signing.manage``) approves or rejects it; an
approved version never changes again (editing starts the next draft as a copy), and only an
approved version makes contracts (``usable_version``). Every step is audited.

Clause bodies are rich text with the proposal's merge fields (``{{ contact.full_name }}``,
``{{ proposal.total }}`` …), checked and sanitized like proposal sections (``sales.merge``).
"""

from __future__ import annotations

import copy
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.messaging.rendering import sanitize_html
from throughline.sales.merge import check_merge_source
from throughline.signing.models import ContractTemplate, ContractTemplateVersion

Status = ContractTemplateVersion.Status
MAX_CLAUSES = 60
MAX_CLAUSE_CHARS = 20_000


def clean_clauses(raw: Any) -> list[dict[str, str]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError({"clauses": "Give a list of clauses."})
    if len(raw) > MAX_CLAUSES:
        raise ValidationError({"clauses": f"At most {MAX_CLAUSES} clauses."})
    errors: dict[str, list[str]] = {}
    out = []
    for i, clause in enumerate(raw):
        if not isinstance(clause, dict):
            errors[f"clauses.{i}"] = ["Each clause has a title and a body."]
            continue
        title = " ".join(str(clause.get("title") or "").split())[:200]
        body = str(clause.get("body") or "").strip()[:MAX_CLAUSE_CHARS]
        if not title and not body:
            continue
        try:
            check_merge_source(body)
        except ValidationError as exc:
            errors[f"clauses.{i}"] = exc.messages
            continue
        out.append({"title": title, "body": sanitize_html(body)})
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def create_template(
    actor: Actor, *, name: str, description: str = "", clauses: list | None = None
) -> ContractTemplate:
    name = " ".join((name or "").split())[:200]
    if not name:
        raise ValidationError({"name": "Give the template a name."})
    if ContractTemplate.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A contract template with this name exists."})
    template = ContractTemplate.objects.create(name=name, description=(description or "").strip())
    version = ContractTemplateVersion.objects.create(
        template=template, number=1, clauses=clean_clauses(clauses), created_by=actor.user
    )
    audit_log.record(actor, "contract_template.created", template, changes={"name": [None, name]})
    audit_log.record(
        actor, "contract_template_version.created", version, changes={"version": [None, 1]}
    )
    return template


@transaction.atomic
def start_draft(actor: Actor, template: ContractTemplate) -> ContractTemplateVersion:
    """The open draft, or a new one copied from the newest version."""
    template = ContractTemplate.objects.select_for_update().get(pk=template.pk)
    open_version = template.working_version()
    if open_version is not None:
        if open_version.status == Status.SUBMITTED:
            open_version.status, open_version.submitted_at = Status.DRAFT, None
            open_version.save(update_fields=["status", "submitted_at", "updated_at"])
            audit_log.record(
                actor,
                "contract_template_version.withdrawn",
                open_version,
                changes={"status": [Status.SUBMITTED, Status.DRAFT]},
            )
        return open_version
    newest = template.versions.order_by("-number").first()
    number = (template.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    version = ContractTemplateVersion(
        template=template,
        number=number,
        clauses=copy.deepcopy(newest.clauses) if newest else [],
        created_by=actor.user,
    )
    try:
        with transaction.atomic():
            version.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError({"__all__": "Someone else started a draft; reload."}) from exc
    audit_log.record(
        actor,
        "contract_template_version.created",
        version,
        changes={
            "version": [None, number],
            "copied_from": [None, newest.number if newest else None],
        },
    )
    return version


@transaction.atomic
def edit_template(
    actor: Actor,
    template: ContractTemplate,
    *,
    clauses: list | None = None,
    change_note: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> ContractTemplateVersion:
    """Change the clauses (always on the open draft) and the template's label."""
    template = ContractTemplate.objects.select_for_update().get(pk=template.pk)
    if name is not None:
        name = " ".join(name.split())[:200]
        if not name:
            raise ValidationError({"name": "Give the template a name."})
        clash = ContractTemplate.objects.filter(name__iexact=name).exclude(pk=template.pk)
        if clash.exists():
            raise ValidationError({"name": "A contract template with this name exists."})
        if name != template.name:
            audit_log.record(
                actor,
                "contract_template.renamed",
                template,
                changes={"name": [template.name, name]},
            )
            template.name = name
    if description is not None:
        template.description = description.strip()
    template.save()
    version = start_draft(actor, template)
    if clauses is not None:
        version.clauses = clean_clauses(clauses)
    if change_note is not None:
        version.change_note = change_note.strip()[:300]
    version.save()
    audit_log.record(
        actor,
        "contract_template_version.edited",
        version,
        changes={"clauses": [None, len(version.clauses)]},
    )
    return version


@transaction.atomic
def submit_version(actor: Actor, version: ContractTemplateVersion) -> ContractTemplateVersion:
    version = ContractTemplateVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != Status.DRAFT:
        raise ValidationError({"status": "Only a draft can be submitted for approval."})
    if not version.clauses:
        raise ValidationError({"clauses": "Add at least one clause."})
    version.status, version.submitted_at = Status.SUBMITTED, timezone.now()
    version.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_log.record(
        actor,
        "contract_template_version.submitted",
        version,
        changes={"status": [Status.DRAFT, Status.SUBMITTED]},
    )
    return version


def _decide(
    actor: Actor, version: ContractTemplateVersion, status: str, comment: str
) -> ContractTemplateVersion:
    # The rule holds whoever calls: views, API, CLI.
    if not actor.can("signing.manage"):
        raise PermissionDenied("Only an owner or admin approves contract templates.")
    version = ContractTemplateVersion.objects.select_for_update().get(pk=version.pk)
    if version.status not in (Status.SUBMITTED, Status.DRAFT):
        raise ValidationError(
            {"status": f"This version is already {version.get_status_display().lower()}."}
        )
    if status == Status.REJECTED and not (comment or "").strip():
        raise ValidationError({"comment": "Say what needs to change."})
    if status == Status.APPROVED and not version.clauses:
        raise ValidationError({"clauses": "An empty template cannot be approved."})
    old = version.status
    version.status = status
    version.decided_at, version.decided_by = timezone.now(), actor.user
    version.decision_comment = (comment or "").strip()[:2000]
    version.save(
        update_fields=["status", "decided_at", "decided_by", "decision_comment", "updated_at"]
    )
    audit_log.record(
        actor,
        f"contract_template_version.{status}",
        version,
        changes={"status": [old, status], "comment": [None, version.decision_comment]},
    )
    return version


@transaction.atomic
def approve_version(
    actor: Actor, version: ContractTemplateVersion, comment: str = ""
) -> ContractTemplateVersion:
    return _decide(actor, version, Status.APPROVED, comment)


@transaction.atomic
def reject_version(
    actor: Actor, version: ContractTemplateVersion, comment: str
) -> ContractTemplateVersion:
    return _decide(actor, version, Status.REJECTED, comment)


def usable_version(
    template_or_version: ContractTemplate | ContractTemplateVersion,
) -> ContractTemplateVersion:
    """The approved version to make a contract from; anything else is refused."""
    if isinstance(template_or_version, ContractTemplate):
        template = template_or_version
        version = template.approved_version()
        if version is None:
            raise ValidationError(
                {
                    "template": f"“{template}” has no approved version yet; "
                    "an owner or admin must approve it."
                }
            )
    else:
        version = template_or_version
        template = version.template
        if version.status != Status.APPROVED:
            raise ValidationError(
                {
                    "template": f"Version {version.number} of “{template}” is not approved "
                    f"({version.get_status_display().lower()})."
                }
            )
    if template.archived:
        raise ValidationError({"template": "This contract template is archived."})
    return version
