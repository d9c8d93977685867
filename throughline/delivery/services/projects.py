"""Projects: made from a template (by hand or on ``contract.signed``), readiness, kick-off.

``create_project`` lays out the milestones (from the proposal's timeline when it has one, else
from the template), their tasks and QA checklists, and the onboarding checklist, whose items
become real CRM tasks assigned to a user holding the item's owner role (fallback: the project
owner). Rule from practice: no kick-off date until scope, timeline and owners are explicit —
``readiness`` says what is missing and ``set_kickoff_date`` refuses while anything is.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events, money
from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.crm import services as crm_services
from throughline.crm.models import Contact
from throughline.delivery.models import (
    ChecklistItem,
    Milestone,
    Project,
    ProjectTemplateVersion,
    WorkItem,
)
from throughline.delivery.services.errors import DeliveryStateError

DEFAULT_QA = "Checked against the agreed scope and acceptance criteria"


def org_today() -> dt.date:
    import zoneinfo

    tz = zoneinfo.ZoneInfo(Organization.current().time_zone or "UTC")
    return timezone.now().astimezone(tz).date()


def user_with_role(role: str) -> User | None:
    if not role:
        return None
    return User.objects.filter(is_active=True, role=role).order_by("date_joined", "email").first()


def _due_at(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    import zoneinfo

    tz = zoneinfo.ZoneInfo(Organization.current().time_zone or "UTC")
    return dt.datetime.combine(day, dt.time(17, 0), tzinfo=tz)


def milestone_plan(
    template_content: dict[str, Any], proposal_milestones: list[dict[str, Any]] | None
) -> list[dict[str, Any]]:
    """The milestones to create: the proposal's timeline wins; the template adds its tasks and
    QA checklist to the milestone with the same title (or position)."""
    from_template = list(template_content.get("milestones") or [])
    if not proposal_milestones:
        return [dict(m) for m in from_template]
    by_title = {m["title"].casefold(): m for m in from_template}
    plan = []
    for i, m in enumerate(proposal_milestones):
        match = by_title.get((m.get("title") or "").casefold())
        if match is None and i < len(from_template):
            match = from_template[i]
        plan.append(
            {
                "title": m.get("title") or f"Milestone {i + 1}",
                "description": m.get("description") or "",
                "offset_days": m.get("offset_days"),
                "tasks": (match or {}).get("tasks", []),
                "qa": (match or {}).get("qa", []),
                "instalment_index": i,
            }
        )
    return plan


def _milestone_amounts(
    schedule: dict[str, Any], count: int, net_total: Decimal | None, currency: str
) -> dict[int, Decimal]:
    """Percent of the contract per milestone: instalments due on a milestone, and "on
    completion" on the last one."""
    percents: dict[int, Decimal] = {}
    if not count or schedule.get("kind") == "retainer":
        return percents
    for item in schedule.get("items") or []:
        if not isinstance(item, dict):
            continue
        index = None
        if item.get("due") == "milestone" and item.get("milestone") is not None:
            index = int(item["milestone"])
        elif item.get("due") == "completion":
            index = count - 1
        if index is None or not 0 <= index < count:
            continue
        percents[index] = percents.get(index, Decimal(0)) + money.to_decimal(item["percent"])
    return percents


@transaction.atomic
def create_project(
    actor: Actor,
    *,
    contact: Contact,
    name: str,
    template_version: ProjectTemplateVersion | None = None,
    owner: User | None = None,
    deal=None,
    proposal=None,
    contract=None,
    start_date: dt.date | None = None,
    brief: dict[str, Any] | None = None,
    currency: str = "",
    proposal_milestones: list[dict[str, Any]] | None = None,
    payment_schedule: dict[str, Any] | None = None,
    net_total: Decimal | None = None,
    retainer_amount: Decimal | None = None,
    retainer_months: int | None = None,
    cause=None,
) -> Project:
    name = " ".join((name or "").split())[:200]
    if not name:
        raise ValidationError({"name": "Give the project a name."})
    if contact is None:
        raise ValidationError({"contact": "A project is for a client contact."})
    currency = (currency or Organization.current().base_currency).upper()
    start = start_date or org_today()
    content = template_version.content if template_version else {}
    schedule = payment_schedule or {}
    project = Project.objects.create(
        name=name,
        kind=Project.Kind.RETAINER if retainer_amount is not None else Project.Kind.FIXED,
        contact=contact,
        company=contact.company,
        deal=deal,
        proposal=proposal,
        contract=contract,
        template_version=template_version,
        owner=owner or actor.user,
        brief=brief or {},
        currency=currency,
        start_date=start,
        retainer_amount=(
            money.quantize(retainer_amount, currency) if retainer_amount is not None else None
        ),
        retainer_months=retainer_months,
    )
    plan = milestone_plan(content, proposal_milestones)
    percents = _milestone_amounts(schedule, len(plan), net_total, currency)
    for i, m in enumerate(plan):
        percent = percents.get(i)
        offset = m.get("offset_days")
        milestone = Milestone.objects.create(
            project=project,
            position=i,
            title=m["title"][:200],
            description=m.get("description", ""),
            due_date=start + dt.timedelta(days=offset) if offset is not None else None,
            percent=percent,
            amount=(
                money.percent_of(net_total, percent, currency)
                if percent is not None and net_total is not None
                else None
            ),
            currency=currency,
        )
        for j, title in enumerate(m.get("qa") or [DEFAULT_QA]):
            ChecklistItem.objects.create(
                project=project,
                milestone=milestone,
                kind=ChecklistItem.Kind.QA,
                position=j,
                title=title[:200],
            )
        for j, title in enumerate(m.get("tasks") or []):
            WorkItem.objects.create(
                project=project, milestone=milestone, title=title[:200], position=j
            )
    onboarding_tasks = 0
    for i, item in enumerate(content.get("onboarding") or []):
        assignee = user_with_role(item.get("owner_role", "")) or project.owner
        offset = item.get("due_offset_days")
        due = start + dt.timedelta(days=offset) if offset is not None else None
        task = crm_services.create_task(
            actor,
            title=f"{item['title']} ({project.name})"[:200],
            owner=assignee,
            contact=contact,
            due_at=_due_at(due),
            description=f"Onboarding checklist of project {project.name}.",
            source=f"delivery.project:{project.pk}",
        )
        ChecklistItem.objects.create(
            project=project,
            kind=ChecklistItem.Kind.ONBOARDING,
            position=i,
            title=item["title"][:200],
            owner_role=item.get("owner_role", ""),
            owner=assignee,
            due_date=due,
            task=task,
        )
        onboarding_tasks += 1
    audit_log.record(
        actor, "project.created", project, changes=audit_log.diff({}, audit_log.snapshot(project))
    )
    events.emit(
        actor,
        "project.created",
        project,
        cause=cause,
        project_id=str(project.pk),
        contact_id=str(contact.pk),
        company_id=str(contact.company_id) if contact.company_id else None,
        deal_id=str(deal.pk) if deal else None,
        proposal_id=str(proposal.pk) if proposal else None,
        contract_id=str(contract.pk) if contract else None,
        template_version_id=str(template_version.pk) if template_version else None,
        kind=project.kind,
        currency=currency,
        start_date=start.isoformat(),
        milestones=len(plan),
        onboarding_tasks=onboarding_tasks,
    )
    return project


def readiness(project: Project) -> list[str]:
    """What is missing before the kick-off date can be set (empty: ready)."""
    missing = []
    brief = project.brief or {}
    if not (brief.get("in_scope") or brief.get("deliverables")):
        missing.append("Scope: list what is in scope (or the deliverables).")
    milestones = list(project.milestones.all())
    if project.kind == Project.Kind.FIXED and not milestones:
        missing.append("Timeline: add at least one milestone.")
    undated = [m.title for m in milestones if m.due_date is None]
    if undated:
        missing.append(f"Timeline: give a due date to {', '.join(undated)}.")
    if project.owner_id is None:
        missing.append("Owners: name the project owner.")
    unowned = [i.title for i in project.checklist.filter(kind="onboarding", owner__isnull=True)]
    if unowned:
        missing.append(f"Owners: assign {', '.join(unowned)}.")
    return missing


def _locked(project: Project) -> Project:
    project = Project.objects.select_for_update().get(pk=project.pk)
    if project.is_closed:
        raise DeliveryStateError("This project is closed.")
    return project


@transaction.atomic
def set_kickoff_date(actor: Actor, project: Project, day: dt.date) -> Project:
    project = _locked(project)
    if not isinstance(day, dt.date):
        raise ValidationError({"kickoff_date": "Give a date."})
    missing = readiness(project)
    if missing:
        raise ValidationError({"kickoff_date": ["Not ready for kick-off.", *missing]})
    before = audit_log.snapshot(project, ["kickoff_date", "status"])
    project.kickoff_date = day
    if project.status == Project.Status.ONBOARDING:
        project.status = Project.Status.ACTIVE
    project.save(update_fields=["kickoff_date", "status", "updated_at"])
    audit_log.record(
        actor,
        "project.kickoff_set",
        project,
        changes=audit_log.diff(before, audit_log.snapshot(project, ["kickoff_date", "status"])),
    )
    return project


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.splitlines()
    return [" ".join(str(v).split())[:500] for v in value or [] if str(v).strip()][:100]


@transaction.atomic
def update_project(actor: Actor, project: Project, **data: Any) -> Project:
    """Name, owner and the editable parts of the brief (scope lists, notes)."""
    project = _locked(project)
    before = {"name": project.name, "owner": project.owner_id, "brief": dict(project.brief)}
    if "name" in data:
        name = " ".join((data["name"] or "").split())[:200]
        if not name:
            raise ValidationError({"name": "Give the project a name."})
        project.name = name
    if "owner" in data:
        owner = data["owner"]
        if owner is not None and not owner.is_active:
            raise ValidationError({"owner": "This user is deactivated."})
        project.owner = owner
    brief = dict(project.brief or {})
    for key in ("in_scope", "out_of_scope"):
        if key in data:
            brief[key] = _lines(data[key])
    if "notes" in data:
        brief["notes"] = (data["notes"] or "").strip()[:5000]
    project.brief = brief
    project.save(update_fields=["name", "owner", "brief", "updated_at"])
    after = {"name": project.name, "owner": project.owner_id, "brief": project.brief}
    audit_log.record(actor, "project.updated", project, changes=audit_log.diff(before, after))
    return project


@transaction.atomic
def assign_checklist_item(actor: Actor, item: ChecklistItem, owner: User | None) -> ChecklistItem:
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    _locked(item.project)
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": "This user is deactivated."})
    before = item.owner_id
    item.owner = owner
    item.save(update_fields=["owner", "updated_at"])
    if item.task_id and owner is not None:
        crm_services.update_task(actor, item.task, owner=owner)
    audit_log.record(
        actor,
        "checklist.assigned",
        item,
        changes={"owner": [str(before) if before else None, str(owner.pk) if owner else None]},
    )
    return item


@transaction.atomic
def check_item(actor: Actor, item: ChecklistItem, done: bool = True) -> ChecklistItem:
    """Tick (or untick) an onboarding or offboarding item; QA items go through milestones."""
    item = ChecklistItem.objects.select_for_update().get(pk=item.pk)
    if item.kind == ChecklistItem.Kind.QA:
        from throughline.delivery.services.milestones import complete_qa_item

        return complete_qa_item(actor, item, done=done)
    if item.kind == ChecklistItem.Kind.ONBOARDING:
        _locked(item.project)
    if item.is_done == done:
        return item
    item.done_at = timezone.now() if done else None
    item.done_by = actor.user if done else None
    item.save(update_fields=["done_at", "done_by", "updated_at"])
    if item.task_id:
        crm_services.complete_task(actor, item.task, done=done)
    audit_log.record(
        actor,
        "checklist.checked" if done else "checklist.unchecked",
        item,
        changes={"done": [not done, done]},
    )
    return item
