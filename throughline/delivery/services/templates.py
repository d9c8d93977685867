"""Project templates: create, save a new version, choose one for a proposal."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.delivery.models import (
    DeliverySettings,
    ProjectTemplate,
    ProjectTemplateVersion,
    ProposalProjectTemplate,
)
from throughline.delivery.template_content import clean_template_content


@transaction.atomic
def create_template(
    actor: Actor, *, name: str, description: str = "", content: dict[str, Any] | None = None
) -> ProjectTemplate:
    name = " ".join((name or "").split())[:200]
    if not name:
        raise ValidationError({"name": "Give the template a name."})
    if ProjectTemplate.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A project template with this name exists."})
    cleaned = clean_template_content(content or {})
    template = ProjectTemplate.objects.create(name=name, description=(description or "").strip())
    audit_log.record(actor, "project_template.created", template, changes={"name": [None, name]})
    _add_version(actor, template, cleaned, "First version")
    return template


def _add_version(
    actor: Actor, template: ProjectTemplate, content: dict[str, Any], note: str
) -> ProjectTemplateVersion:
    number = (template.versions.aggregate(m=Max("number"))["m"] or 0) + 1
    version = ProjectTemplateVersion.objects.create(
        template=template,
        number=number,
        content=content,
        change_note=(note or "")[:300],
        created_by=actor.user,
    )
    audit_log.record(
        actor, "project_template.version_saved", version, changes={"number": [None, number]}
    )
    return version


@transaction.atomic
def save_version(
    actor: Actor, template: ProjectTemplate, content: Any, change_note: str = ""
) -> ProjectTemplateVersion:
    """A change is a new version; versions already used by projects stay as they were."""
    template = ProjectTemplate.objects.select_for_update().get(pk=template.pk)
    cleaned = clean_template_content(content)
    current = template.current_version()
    if current is not None and current.content == cleaned:
        return current
    return _add_version(actor, template, cleaned, change_note)


@transaction.atomic
def update_template(
    actor: Actor,
    template: ProjectTemplate,
    *,
    description: str | None = None,
    archived: bool | None = None,
    proposal_templates: list | None = None,
) -> ProjectTemplate:
    before = audit_log.snapshot(template, ["description", "archived"])
    if description is not None:
        template.description = description.strip()
    if archived is not None:
        template.archived = archived
    template.save(update_fields=["description", "archived", "updated_at"])
    changes = audit_log.diff(before, audit_log.snapshot(template, ["description", "archived"]))
    if proposal_templates is not None:
        template.proposal_templates.set(proposal_templates)
        changes["proposal_templates"] = [None, [str(t.pk) for t in proposal_templates]]
    audit_log.record(actor, "project_template.updated", template, changes=changes)
    return template


@transaction.atomic
def choose_for_proposal(actor: Actor, proposal, template: ProjectTemplate) -> None:
    """The project of this proposal (once signed) will follow ``template``."""
    if template.archived:
        raise ValidationError({"template": "This template is archived."})
    ProposalProjectTemplate.objects.update_or_create(
        proposal=proposal, defaults={"template": template}
    )
    audit_log.record(
        actor,
        "project_template.chosen",
        proposal,
        changes={"project_template": [None, str(template.pk)]},
    )


@transaction.atomic
def set_default_template(actor: Actor, template: ProjectTemplate | None) -> DeliverySettings:
    settings = DeliverySettings.current()
    before = str(settings.default_template_id) if settings.default_template_id else None
    settings.default_template = template
    settings.save(update_fields=["default_template", "updated_at"])
    audit_log.record(
        actor,
        "delivery.settings_changed",
        settings,
        changes={"default_template": [before, str(template.pk) if template else None]},
    )
    return settings


def template_for_proposal(proposal) -> ProjectTemplateVersion | None:
    """Chosen on the proposal → mapped from its proposal template → the default → none."""
    choice = ProposalProjectTemplate.objects.filter(proposal=proposal).first() if proposal else None
    template = choice.template if choice else None
    if template is None and proposal is not None and proposal.template_version_id:
        template = (
            ProjectTemplate.objects.filter(
                archived=False, proposal_templates=proposal.template_version.template_id
            )
            .order_by("name")
            .first()
        )
    if template is None:
        template = DeliverySettings.current().default_template
    return template.current_version() if template else None


@transaction.atomic
def update_settings(actor: Actor, *, expansion_followup_days: Any) -> DeliverySettings:
    try:
        days = int(expansion_followup_days)
        if not 1 <= days <= 365:
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            {"expansion_followup_days": "Follow-up days: a number from 1 to 365."}
        ) from exc
    row = DeliverySettings.objects.select_for_update().get(pk=DeliverySettings.current().pk)
    before = row.expansion_followup_days
    row.expansion_followup_days = days
    row.save(update_fields=["expansion_followup_days", "updated_at"])
    audit_log.record(
        actor,
        "delivery.settings_changed",
        row,
        changes={"expansion_followup_days": [before, days]},
    )
    return row
