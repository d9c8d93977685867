"""Offboarding: close a project, keep its closeout, open the next opportunity.

``close_project`` refuses while a milestone of a fixed-scope project is not accepted; it lays
out the offboarding checklist, freezes the closeout (deliverables, outcomes, links), opens an
expansion deal in the "Repeat business" pipeline with a follow-up task N days later
(``DeliverySettings.expansion_followup_days``) and emits ``project.closed`` — the portal
reacts with the testimonial request and the NPS question.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.crm import services as crm_services
from throughline.delivery.models import (
    ChecklistItem,
    DeliverySettings,
    Milestone,
    NpsResponse,
    Project,
    Testimonial,
)
from throughline.delivery.services.errors import DeliveryStateError
from throughline.delivery.services.projects import _due_at, org_today, user_with_role
from throughline.sales.models import Pipeline
from throughline.sales.services import pipeline as pipeline_services

REPEAT_PIPELINE = "Repeat business"
REPEAT_STAGES = [
    {"name": "Follow-up", "probability": 10},
    {"name": "Conversation", "probability": 30},
    {"name": "Proposal", "probability": 60},
]


def repeat_pipeline(actor: Actor) -> Pipeline:
    pipeline = Pipeline.objects.filter(name__iexact=REPEAT_PIPELINE).first()
    if pipeline is None:
        pipeline = pipeline_services.create_pipeline(
            actor, name=REPEAT_PIPELINE, stages=REPEAT_STAGES
        )
    return pipeline


def closeout_document(project: Project, outcomes: str) -> dict[str, Any]:
    milestones = list(project.milestones.all())
    return {
        "closed_on": org_today().isoformat(),
        "deliverables": [
            {
                "title": m.title,
                "status": m.get_status_display(),
                "accepted_at": m.accepted_at.isoformat() if m.accepted_at else None,
                "accepted_by": m.accepted_by,
                "revisions": m.revision_count,
            }
            for m in milestones
        ],
        "scope": list((project.brief or {}).get("in_scope") or []),
        "outcomes": outcomes,
        "files": [{"id": str(f.pk), "name": f.name} for f in project.files.all()],
        "periods": project.periods.count(),
    }


@transaction.atomic
def close_project(actor: Actor, project: Project, *, outcomes: str = "") -> Project:
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.is_closed:
        raise DeliveryStateError("This project is closed already.")
    if project.kind == Project.Kind.FIXED:
        open_ones = [m.title for m in project.milestones.exclude(status=Milestone.Status.ACCEPTED)]
        if open_ones:
            raise DeliveryStateError(
                f"Milestones not accepted by the client yet: {', '.join(open_ones)}."
            )
    outcomes = (outcomes or "").strip()[:5000]
    today = org_today()
    content = project.template_version.content if project.template_version else {}
    for i, item in enumerate(content.get("offboarding") or []):
        offset = item.get("due_offset_days")
        ChecklistItem.objects.create(
            project=project,
            kind=ChecklistItem.Kind.OFFBOARDING,
            position=i,
            title=item["title"][:200],
            owner_role=item.get("owner_role", ""),
            owner=user_with_role(item.get("owner_role", "")) or project.owner,
            due_date=today + dt.timedelta(days=offset) if offset is not None else None,
        )
    project.status = Project.Status.CLOSED
    project.closed_at = timezone.now()
    project.closeout = closeout_document(project, outcomes)
    deal = _expansion(actor, project, today)
    project.closeout["expansion_deal_id"] = str(deal.pk)
    project.save(update_fields=["status", "closed_at", "closeout", "updated_at"])
    audit_log.record(
        actor,
        "project.closed",
        project,
        changes={"status": ["active", "closed"], "expansion_deal": [None, str(deal.pk)]},
    )
    events.emit(
        actor,
        "project.closed",
        project,
        project_id=str(project.pk),
        contact_id=str(project.contact_id),
        deal_id=str(project.deal_id) if project.deal_id else None,
        proposal_id=str(project.proposal_id) if project.proposal_id else None,
        expansion_deal_id=str(deal.pk),
        closed_at=project.closed_at.isoformat(),
    )
    return project


def _expansion(actor: Actor, project: Project, today: dt.date):
    days = DeliverySettings.current().expansion_followup_days
    pipeline = repeat_pipeline(actor)
    owner = project.owner or (project.deal.owner if project.deal_id else None)
    deal = pipeline_services.create_deal(
        actor,
        pipeline=pipeline,
        title=f"Next steps with {project.company or project.contact}"[:200],
        contact=project.contact,
        currency=project.currency,
        owner=owner,
        source="repeat business",
        notes=f"Expansion opportunity after project {project.name}.",
    )
    crm_services.create_task(
        actor,
        title=f"Follow up on {project.name}: what comes next?"[:200],
        owner=owner,
        contact=project.contact,
        due_at=_due_at(today + dt.timedelta(days=days)),
        description="Repeat business: ask how the results are working and what is next.",
        source=f"delivery.project:{project.pk}:expansion",
    )
    return deal


@transaction.atomic
def record_testimonial(
    actor: Actor, project: Project, *, text: str, rating: Any, may_publish: bool
) -> Testimonial:
    errors = {}
    text = (text or "").strip()
    if not text:
        errors["text"] = "Write a few words."
    elif len(text) > 5000:
        errors["text"] = "At most 5000 characters."
    try:
        rating = int(rating)
        if not 1 <= rating <= 5:
            raise ValueError
    except (TypeError, ValueError):
        errors["rating"] = "Choose a rating from 1 to 5."
    if errors:
        raise ValidationError(errors)
    if not project.is_closed:
        raise DeliveryStateError("Testimonials are asked for when the project is closed.")
    testimonial, created = Testimonial.objects.update_or_create(
        project=project,
        defaults={
            "contact": project.contact,
            "text": text,
            "rating": rating,
            "may_publish": bool(may_publish),
        },
    )
    audit_log.record(
        actor,
        "testimonial.received" if created else "testimonial.updated",
        testimonial,
        changes={"rating": [None, rating], "may_publish": [None, bool(may_publish)]},
    )
    return testimonial


@transaction.atomic
def record_nps(actor: Actor, project: Project, *, score: Any, comment: str = "") -> NpsResponse:
    try:
        score = int(score)
        if not 0 <= score <= 10:
            raise ValueError
    except (TypeError, ValueError) as exc:
        raise ValidationError({"score": "Choose a score from 0 to 10."}) from exc
    if not project.is_closed:
        raise DeliveryStateError("The question is asked when the project is closed.")
    response, _ = NpsResponse.objects.update_or_create(
        project=project,
        defaults={
            "contact": project.contact,
            "score": score,
            "comment": (comment or "").strip()[:2000],
        },
    )
    audit_log.record(actor, "nps.received", response, changes={"score": [None, score]})
    return response
