"""Milestone transitions: planned → in_progress → in_qa → delivered → accepted.

``deliver`` is refused until the milestone's QA checklist is complete; the pass is kept as a
``QAPass`` row (who delivered, what was checked by whom). The client accepts a delivered
milestone, or requests changes with a comment: the revision count goes up, the milestone goes
back to in_progress and its QA checklist must be passed again. Accepting twice, or anything out
of state, raises ``DeliveryStateError`` and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.delivery.models import (
    ChecklistItem,
    Milestone,
    MilestoneReview,
    Project,
    ProjectComment,
    QAPass,
    WorkItem,
)
from throughline.delivery.services.errors import DeliveryStateError

S = Milestone.Status


def _locked(milestone: Milestone) -> Milestone:
    milestone = Milestone.objects.select_for_update().select_related("project").get(pk=milestone.pk)
    if milestone.project.is_closed:
        raise DeliveryStateError("This project is closed.")
    return milestone


def facts(milestone: Milestone) -> dict[str, Any]:
    """What billing and automation need about a milestone: ids and figures, no copies."""
    project = milestone.project
    brief = project.brief or {}
    return {
        "project_id": str(project.pk),
        "milestone_id": str(milestone.pk),
        "contact_id": str(project.contact_id),
        "deal_id": str(project.deal_id) if project.deal_id else None,
        "proposal_id": str(project.proposal_id) if project.proposal_id else None,
        "contract_id": str(project.contract_id) if project.contract_id else None,
        "number": brief.get("contract", {}).get("number")
        or brief.get("proposal", {}).get("number"),
        "title": milestone.title,
        "position": milestone.position,
        "percent": str(milestone.percent) if milestone.percent is not None else None,
        "amount": str(milestone.amount) if milestone.amount is not None else None,
        "currency": milestone.currency or project.currency,
        "tax_breakdown": (brief.get("totals") or {}).get("breakdown") or [],
        "revision_count": milestone.revision_count,
    }


def _move(actor: Actor, milestone: Milestone, to: str, action: str, fields: list[str]) -> None:
    before = milestone.status
    milestone.status = to
    milestone.save(update_fields=["status", *fields, "updated_at"])
    audit_log.record(actor, action, milestone, changes={"status": [before, to]})


def _refuse(milestone: Milestone, verb: str, allowed: tuple[str, ...]) -> None:
    if milestone.status not in allowed:
        names = " or ".join(S(s).label.lower() for s in allowed)
        raise DeliveryStateError(
            f"“{milestone.title}” is {milestone.get_status_display().lower()}; "
            f"only a milestone that is {names} can be {verb}."
        )


@transaction.atomic
def start(actor: Actor, milestone: Milestone) -> Milestone:
    milestone = _locked(milestone)
    _refuse(milestone, "started", (S.PLANNED,))
    milestone.started_at = timezone.now()
    _move(actor, milestone, S.IN_PROGRESS, "milestone.started", ["started_at"])
    project = milestone.project
    if project.status == Project.Status.ONBOARDING and project.kickoff_date:
        Project.objects.filter(pk=project.pk).update(status=Project.Status.ACTIVE)
    return milestone


@transaction.atomic
def submit_for_qa(actor: Actor, milestone: Milestone) -> Milestone:
    milestone = _locked(milestone)
    _refuse(milestone, "sent to QA", (S.IN_PROGRESS,))
    _move(actor, milestone, S.IN_QA, "milestone.submitted_for_qa", [])
    return milestone


@transaction.atomic
def complete_qa_item(actor: Actor, item: ChecklistItem, done: bool = True) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if item.kind != ChecklistItem.Kind.QA:
        raise ValidationError({"item": "Not a QA checklist item."})
    milestone = _locked(item.milestone)
    _refuse(milestone, "checked in QA", (S.IN_QA,))
    if item.is_done == done:
        return item
    item.done_at = timezone.now() if done else None
    item.done_by = actor.user if done else None
    item.save(update_fields=["done_at", "done_by", "updated_at"])
    audit_log.record(
        actor, "qa.checked" if done else "qa.unchecked", item, changes={"done": [not done, done]}
    )
    return item


def qa_missing(milestone: Milestone) -> list[str]:
    return [i.title for i in milestone.qa_items.all() if not i.is_done]


@transaction.atomic
def deliver(actor: Actor, milestone: Milestone) -> Milestone:
    """Hand the milestone to the client; refused until its QA checklist is complete."""
    milestone = _locked(milestone)
    _refuse(milestone, "delivered", (S.IN_QA,))
    missing = qa_missing(milestone)
    if missing:
        raise DeliveryStateError(
            f"The QA checklist of “{milestone.title}” is not complete: {', '.join(missing)}."
        )
    now = timezone.now()
    QAPass.objects.create(
        milestone=milestone,
        revision=milestone.revision_count,
        items=[
            {
                "title": i.title,
                "done_at": i.done_at.isoformat(),
                "done_by": i.done_by.email if i.done_by else "",
            }
            for i in milestone.qa_items.select_related("done_by")
        ],
        delivered_by=actor.user,
        at=now,
    )
    milestone.delivered_at = now
    _move(actor, milestone, S.DELIVERED, "milestone.delivered", ["delivered_at"])
    events.emit(
        actor, "milestone.completed", milestone, delivered_at=now.isoformat(), **facts(milestone)
    )
    return milestone


@transaction.atomic
def accept(actor: Actor, milestone: Milestone, *, by: str = "", comment: str = "") -> Milestone:
    milestone = _locked(milestone)
    if milestone.status == S.ACCEPTED:
        raise DeliveryStateError(f"“{milestone.title}” was accepted already.")
    _refuse(milestone, "accepted", (S.DELIVERED,))
    now = timezone.now()
    label = (by or actor.display)[:200]
    MilestoneReview.objects.create(
        milestone=milestone,
        decision=MilestoneReview.Decision.ACCEPTED,
        comment=(comment or "").strip()[:5000],
        by_label=label,
        by_user=actor.user,
        channel=actor.channel,
        at=now,
    )
    milestone.accepted_at, milestone.accepted_by = now, label
    _move(actor, milestone, S.ACCEPTED, "milestone.accepted", ["accepted_at", "accepted_by"])
    events.emit(
        actor,
        "milestone.accepted",
        milestone,
        accepted_at=now.isoformat(),
        accepted_by=label,
        channel=actor.channel,
        **facts(milestone),
    )
    return milestone


@transaction.atomic
def request_changes(actor: Actor, milestone: Milestone, *, comment: str, by: str = "") -> Milestone:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": "Say what should change."})
    milestone = _locked(milestone)
    _refuse(milestone, "sent back with changes", (S.DELIVERED,))
    label = (by or actor.display)[:200]
    now = timezone.now()
    MilestoneReview.objects.create(
        milestone=milestone,
        decision=MilestoneReview.Decision.CHANGES,
        comment=comment[:5000],
        by_label=label,
        by_user=actor.user,
        channel=actor.channel,
        at=now,
    )
    ProjectComment.objects.create(
        project=milestone.project,
        milestone=milestone,
        author=actor.user,
        is_client=actor.user is None,
        client_name=label if actor.user is None else "",
        body=comment[:5000],
    )
    milestone.revision_count += 1
    milestone.delivered_at = None
    # A revision is checked again before it goes back to the client.
    milestone.qa_items.update(done_at=None, done_by=None, updated_at=now)
    _move(
        actor,
        milestone,
        S.IN_PROGRESS,
        "milestone.changes_requested",
        ["revision_count", "delivered_at"],
    )
    return milestone


@transaction.atomic
def update_milestone(actor: Actor, milestone: Milestone, **data: Any) -> Milestone:
    milestone = _locked(milestone)
    before = audit_log.snapshot(milestone, ["title", "due_date", "description"])
    if "title" in data:
        title = " ".join((data["title"] or "").split())[:200]
        if not title:
            raise ValidationError({"title": "Give the milestone a title."})
        milestone.title = title
    if "due_date" in data:
        if data["due_date"] is not None and not isinstance(data["due_date"], dt.date):
            raise ValidationError({"due_date": "Give a date."})
        milestone.due_date = data["due_date"]
    if "description" in data:
        milestone.description = (data["description"] or "").strip()[:2000]
    milestone.save(update_fields=["title", "due_date", "description", "updated_at"])
    after = audit_log.snapshot(milestone, ["title", "due_date", "description"])
    audit_log.record(actor, "milestone.updated", milestone, changes=audit_log.diff(before, after))
    return milestone


@transaction.atomic
def add_milestone(
    actor: Actor, project: Project, *, title: str, due_date: dt.date | None = None
) -> Milestone:
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.is_closed:
        raise DeliveryStateError("This project is closed.")
    title = " ".join((title or "").split())[:200]
    if not title:
        raise ValidationError({"title": "Give the milestone a title."})
    milestone = Milestone.objects.create(
        project=project,
        position=project.milestones.count(),
        title=title,
        due_date=due_date,
        currency=project.currency,
    )
    from throughline.delivery.services.projects import DEFAULT_QA

    ChecklistItem.objects.create(
        project=project, milestone=milestone, kind=ChecklistItem.Kind.QA, title=DEFAULT_QA
    )
    audit_log.record(actor, "milestone.created", milestone, changes={"title": [None, title]})
    return milestone


@transaction.atomic
def move_work_item(actor: Actor, item: WorkItem, status: str) -> WorkItem:
    if status not in WorkItem.Status.values:
        raise ValidationError({"status": f"Choose one of: {', '.join(WorkItem.Status.values)}."})
    item = WorkItem.objects.select_for_update().select_related("project").get(pk=item.pk)
    if item.project.is_closed:
        raise DeliveryStateError("This project is closed.")
    before = item.status
    item.status = status
    item.save(update_fields=["status", "updated_at"])
    audit_log.record(actor, "work_item.moved", item, changes={"status": [before, status]})
    return item


@transaction.atomic
def add_work_item(
    actor: Actor,
    project: Project,
    *,
    title: str,
    milestone: Milestone | None = None,
    assignee=None,
    due_date: dt.date | None = None,
) -> WorkItem:
    if project.is_closed:
        raise DeliveryStateError("This project is closed.")
    title = " ".join((title or "").split())[:200]
    if not title:
        raise ValidationError({"title": "Give the task a title."})
    if milestone is not None and milestone.project_id != project.pk:
        raise ValidationError({"milestone": "This milestone belongs to another project."})
    item = WorkItem.objects.create(
        project=project, milestone=milestone, title=title, assignee=assignee, due_date=due_date
    )
    audit_log.record(actor, "work_item.created", item, changes={"title": [None, title]})
    return item


@transaction.atomic
def add_comment(
    actor: Actor,
    project: Project,
    body: str,
    *,
    milestone: Milestone | None = None,
    client_name: str = "",
) -> ProjectComment:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write a comment."})
    if len(body) > 5000:
        raise ValidationError({"body": "At most 5000 characters."})
    if milestone is not None and milestone.project_id != project.pk:
        raise ValidationError({"milestone": "This milestone belongs to another project."})
    comment = ProjectComment.objects.create(
        project=project,
        milestone=milestone,
        author=actor.user,
        is_client=actor.user is None,
        client_name=(client_name or actor.display)[:200] if actor.user is None else "",
        body=body,
    )
    audit_log.record(actor, "project.commented", comment, changes={"body": [None, body[:200]]})
    return comment
