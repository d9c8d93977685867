"""Deals through the pipeline: create, edit, move between stages, win, lose, reopen.

Also the pipeline's own settings (stages with win probability and stall limits, lost reasons).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from throughline.core import audit_log, events, money
from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.crm.models import Company, Contact
from throughline.sales.models import Deal, DealStageChange, LostReason, Pipeline, Stage

DEAL_FIELDS = (
    "title",
    "value",
    "currency",
    "expected_close_date",
    "owner",
    "contact",
    "company",
    "source",
    "notes",
)


def default_pipeline() -> Pipeline:
    pipeline = (
        Pipeline.objects.filter(archived=False).order_by("-is_default", "position", "name").first()
    )
    if pipeline is None:
        raise ValidationError({"pipeline": "Set up a pipeline first (Settings → Pipeline)."})
    return pipeline


def first_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.order_by("position", "name").first()
    if stage is None:
        raise ValidationError({"stage": f"The pipeline “{pipeline}” has no stages."})
    return stage


def _clean_deal(data: dict[str, Any], instance: Deal | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "title" in data:
        cleaned["title"] = " ".join((data["title"] or "").split())[:200]
        if not cleaned["title"]:
            errors["title"] = "Give the deal a title."
    if "currency" in data:
        cleaned["currency"] = (data["currency"] or "").strip().upper()
        try:
            money.minor_unit(cleaned["currency"])
        except money.MoneyError as exc:
            errors["currency"] = str(exc)
    currency = cleaned.get("currency") or (
        instance.currency if instance else Organization.current().base_currency
    )
    if "value" in data:
        try:
            value = money.to_decimal(data["value"] if data["value"] not in (None, "") else "0")
            if value < 0:
                raise money.MoneyError("The value cannot be negative.")
            if "currency" not in errors:
                cleaned["value"] = money.quantize(value, currency)
        except money.MoneyError as exc:
            errors["value"] = str(exc)
    if "expected_close_date" in data:
        value = data["expected_close_date"]
        if value and not isinstance(value, dt.date):
            errors["expected_close_date"] = "Give a date."
        cleaned["expected_close_date"] = value or None
    if "owner" in data:
        owner = data["owner"]
        if owner is not None and (not isinstance(owner, User) or not owner.is_active):
            errors["owner"] = "Choose an active user."
        cleaned["owner"] = owner
    if "contact" in data:
        if data["contact"] is not None and not isinstance(data["contact"], Contact):
            errors["contact"] = "Choose a contact."
        cleaned["contact"] = data["contact"]
    if "company" in data:
        if data["company"] is not None and not isinstance(data["company"], Company):
            errors["company"] = "Choose a company."
        cleaned["company"] = data["company"]
    for key in ("source", "notes"):
        if key in data:
            cleaned[key] = (data[key] or "").strip()
    if errors:
        raise ValidationError(errors)
    return cleaned


def touch(deal: Deal, at: dt.datetime | None = None) -> None:
    """Something happened on the deal: the stalled clock starts again."""
    Deal.objects.filter(pk=deal.pk).update(last_activity_at=at or timezone.now())


@transaction.atomic
def create_deal(
    actor: Actor,
    *,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    lead_id=None,
    qualified_at: dt.datetime | None = None,
    deal_id=None,
    **data: Any,
) -> Deal:
    """A new open deal. ``lead_id``/``qualified_at`` come from lead conversion (intake),
    which may also pre-allocate the deal's id (``deal_id``) to answer with it at once."""
    unknown = set(data) - set(DEAL_FIELDS)
    if unknown:
        raise ValidationError({k: "Unknown field." for k in unknown})
    if lead_id is not None:
        existing = Deal.objects.filter(lead_id=lead_id).first()
        if existing is not None:
            return existing  # converting a lead twice gives the same deal
    if deal_id is not None:
        try:
            deal_id = uuid.UUID(str(deal_id))
        except ValueError as exc:
            raise ValidationError({"deal_id": "Not a valid id."}) from exc
        if Deal.objects.filter(pk=deal_id).exists():
            raise ValidationError({"deal_id": "A deal with this id exists."})
    pipeline = pipeline or (stage.pipeline if stage else default_pipeline())
    stage = stage or first_stage(pipeline)
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": "This stage belongs to another pipeline."})
    data.setdefault("currency", Organization.current().base_currency)
    data.setdefault("value", Decimal(0))
    cleaned = _clean_deal(data, None)
    if not cleaned.get("title"):
        raise ValidationError({"title": "Give the deal a title."})
    if cleaned.get("company") is None and cleaned.get("contact") is not None:
        cleaned["company"] = cleaned["contact"].company
    now = timezone.now()
    deal = Deal(
        **({"id": deal_id} if deal_id else {}),
        pipeline=pipeline,
        stage=stage,
        lead_id=lead_id,
        qualified_at=qualified_at,
        stage_entered_at=now,
        last_activity_at=now,
        **cleaned,
    )
    if deal.owner_id is None and actor.user is not None:
        deal.owner = actor.user
    deal.full_clean(exclude=["lead_id"])
    deal.save(force_insert=True)
    DealStageChange.objects.create(
        deal=deal, to_stage=stage, to_name=stage.name, status=deal.status, at=now, by=actor.user
    )
    audit_log.record(
        actor, "deal.created", deal, changes=audit_log.diff({}, audit_log.snapshot(deal))
    )
    return deal


@transaction.atomic
def update_deal(actor: Actor, deal: Deal, **data: Any) -> Deal:
    unknown = set(data) - set(DEAL_FIELDS)
    if unknown:
        raise ValidationError({k: "Unknown field." for k in unknown})
    deal = Deal.objects.select_for_update(of=("self",)).get(pk=deal.pk)
    cleaned = _clean_deal(data, deal)
    if "currency" in cleaned and "value" not in cleaned:
        cleaned["value"] = money.quantize(deal.value, cleaned["currency"])
    before = audit_log.snapshot(deal)
    for key, value in cleaned.items():
        setattr(deal, key, value)
    changes = audit_log.diff(before, audit_log.snapshot(deal))
    if not changes:
        return deal
    deal.last_activity_at = timezone.now()
    deal.save()
    audit_log.record(actor, "deal.updated", deal, changes=changes)
    return deal


def _record_change(actor: Actor, deal: Deal, old_stage: Stage | None, status: str) -> None:
    DealStageChange.objects.create(
        deal=deal,
        from_stage=old_stage,
        to_stage=deal.stage,
        from_name=old_stage.name if old_stage else "",
        to_name=deal.stage.name,
        status=status,
        by=actor.user,
    )


@transaction.atomic
def move_deal(actor: Actor, deal: Deal, stage: Stage) -> Deal:
    """Put an open deal in another stage of its pipeline; ``deal.stage_changed``."""
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").get(pk=deal.pk)
    if deal.status != Deal.Status.OPEN:
        raise ValidationError({"stage": f"The deal is {deal.get_status_display().lower()}."})
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": "This stage belongs to another pipeline."})
    if stage.pk == deal.stage_id:
        return deal
    old = deal.stage
    now = timezone.now()
    deal.stage = stage
    deal.stage_entered_at = now
    deal.last_activity_at = now
    deal.save(update_fields=["stage", "stage_entered_at", "last_activity_at", "updated_at"])
    _record_change(actor, deal, old, deal.status)
    audit_log.record(actor, "deal.stage_changed", deal, changes={"stage": [old.name, stage.name]})
    events.emit(
        actor,
        "deal.stage_changed",
        deal,
        from_stage=str(old.pk),
        to_stage=str(stage.pk),
        from_stage_name=old.name,
        to_stage_name=stage.name,
        probability=stage.probability,
    )
    return deal


@transaction.atomic
def win_deal(actor: Actor, deal: Deal) -> Deal:
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").get(pk=deal.pk)
    if deal.status != Deal.Status.OPEN:
        raise ValidationError({"status": f"The deal is already {deal.status}."})
    now = timezone.now()
    deal.status = Deal.Status.WON
    deal.closed_at = deal.last_activity_at = now
    deal.save(update_fields=["status", "closed_at", "last_activity_at", "updated_at"])
    _record_change(actor, deal, deal.stage, deal.status)
    audit_log.record(actor, "deal.won", deal, changes={"status": ["open", "won"]})
    events.emit(
        actor,
        "deal.won",
        deal,
        value=str(money.quantize(deal.value, deal.currency)),
        currency=deal.currency,
        stage=deal.stage.name,
    )
    return deal


def find_lost_reason(value: Any) -> LostReason | None:
    """A lost reason by instance, id or (case-insensitive) name; only active ones."""
    if isinstance(value, LostReason):
        return value if value.active else None
    text = str(value or "").strip()
    if not text:
        return None
    reasons = LostReason.objects.filter(active=True)
    if text.isdigit():
        found = reasons.filter(pk=int(text)).first()
        if found:
            return found
    return reasons.filter(name__iexact=text).first()


@transaction.atomic
def lose_deal(actor: Actor, deal: Deal, reason: Any, note: str = "") -> Deal:
    """Close as lost; a reason from the managed list is required. ``deal.lost``."""
    lost_reason = find_lost_reason(reason)
    if lost_reason is None:
        names = ", ".join(LostReason.objects.filter(active=True).values_list("name", flat=True))
        raise ValidationError({"reason": f"Choose a lost reason from the list: {names}."})
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").get(pk=deal.pk)
    if deal.status != Deal.Status.OPEN:
        raise ValidationError({"status": f"The deal is already {deal.status}."})
    now = timezone.now()
    deal.status = Deal.Status.LOST
    deal.lost_reason = lost_reason
    deal.lost_note = (note or "").strip()[:2000]
    deal.closed_at = deal.last_activity_at = now
    deal.save(
        update_fields=[
            "status",
            "lost_reason",
            "lost_note",
            "closed_at",
            "last_activity_at",
            "updated_at",
        ]
    )
    _record_change(actor, deal, deal.stage, deal.status)
    audit_log.record(
        actor,
        "deal.lost",
        deal,
        changes={"status": ["open", "lost"], "lost_reason": [None, lost_reason.name]},
    )
    events.emit(
        actor,
        "deal.lost",
        deal,
        reason=lost_reason.name,
        reason_id=lost_reason.pk,
        stage=deal.stage.name,
    )
    return deal


@transaction.atomic
def reopen_deal(actor: Actor, deal: Deal) -> Deal:
    deal = Deal.objects.select_for_update(of=("self",)).select_related("stage").get(pk=deal.pk)
    if deal.status == Deal.Status.OPEN:
        return deal
    old_status = deal.status
    deal.status = Deal.Status.OPEN
    deal.lost_reason = None
    deal.closed_at = None
    deal.last_activity_at = timezone.now()
    deal.save(
        update_fields=["status", "lost_reason", "closed_at", "last_activity_at", "updated_at"]
    )
    _record_change(actor, deal, deal.stage, deal.status)
    audit_log.record(actor, "deal.reopened", deal, changes={"status": [old_status, "open"]})
    return deal


# --- Pipeline settings -------------------------------------------------------------------


def _clean_stage(data: dict[str, Any]) -> dict[str, Any]:
    errors, cleaned = {}, {}
    if "name" in data:
        cleaned["name"] = " ".join((data["name"] or "").split())[:100]
        if not cleaned["name"]:
            errors["name"] = "Give the stage a name."
    if "probability" in data:
        try:
            cleaned["probability"] = int(data["probability"])
            if not 0 <= cleaned["probability"] <= 100:
                raise ValueError
        except (TypeError, ValueError):
            errors["probability"] = "A percentage from 0 to 100."
    if "stall_after_days" in data:
        value = data["stall_after_days"]
        try:
            cleaned["stall_after_days"] = int(value) if value not in (None, "") else None
            if cleaned["stall_after_days"] is not None and not 1 <= cleaned["stall_after_days"]:
                raise ValueError
        except (TypeError, ValueError):
            errors["stall_after_days"] = "A number of days (1 or more), or empty."
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def create_pipeline(actor: Actor, *, name: str, stages: list[dict] | None = None) -> Pipeline:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the pipeline a name."})
    if Pipeline.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": "A pipeline with this name exists."})
    position = (Pipeline.objects.aggregate(m=Max("position"))["m"] or 0) + 1
    pipeline = Pipeline.objects.create(
        name=name, position=position, is_default=not Pipeline.objects.exists()
    )
    audit_log.record(actor, "pipeline.created", pipeline, changes={"name": [None, name]})
    for stage in stages or []:
        add_stage(actor, pipeline, **stage)
    return pipeline


@transaction.atomic
def add_stage(actor: Actor, pipeline: Pipeline, **data: Any) -> Stage:
    cleaned = _clean_stage({"probability": 0, **data})
    if "name" not in cleaned:
        raise ValidationError({"name": "Give the stage a name."})
    if pipeline.stages.filter(name__iexact=cleaned["name"]).exists():
        raise ValidationError({"name": "This pipeline has a stage with this name."})
    position = (pipeline.stages.aggregate(m=Max("position"))["m"] or 0) + 1
    stage = Stage.objects.create(pipeline=pipeline, position=position, **cleaned)
    audit_log.record(
        actor, "stage.created", stage, changes=audit_log.diff({}, audit_log.snapshot(stage))
    )
    return stage


@transaction.atomic
def update_stage(actor: Actor, stage: Stage, **data: Any) -> Stage:
    stage = Stage.objects.select_for_update(of=("self",)).get(pk=stage.pk)
    cleaned = _clean_stage(data)
    if (
        "name" in cleaned
        and Stage.objects.filter(pipeline=stage.pipeline, name__iexact=cleaned["name"])
        .exclude(pk=stage.pk)
        .exists()
    ):
        raise ValidationError({"name": "This pipeline has a stage with this name."})
    before = audit_log.snapshot(stage)
    for key, value in cleaned.items():
        setattr(stage, key, value)
    changes = audit_log.diff(before, audit_log.snapshot(stage))
    if changes:
        stage.save()
        audit_log.record(actor, "stage.updated", stage, changes=changes)
    return stage


@transaction.atomic
def move_stage(actor: Actor, stage: Stage, direction: int) -> Stage:
    """Swap a stage with its neighbour (``direction`` -1 earlier, +1 later)."""
    stages = list(Stage.objects.select_for_update(of=("self",)).filter(pipeline=stage.pipeline_id))
    stages.sort(key=lambda s: (s.position, s.name))
    index = next(i for i, s in enumerate(stages) if s.pk == stage.pk)
    other = index + (1 if direction > 0 else -1)
    if not 0 <= other < len(stages):
        return stage
    stages[index], stages[other] = stages[other], stages[index]
    for position, s in enumerate(stages, start=1):
        if s.position != position:
            s.position = position
            s.save(update_fields=["position", "updated_at"])
    audit_log.record(
        actor,
        "stage.reordered",
        stage.pipeline,
        changes={"order": [None, [s.name for s in stages]]},
    )
    return stage


@transaction.atomic
def delete_stage(actor: Actor, stage: Stage) -> None:
    if stage.deals.exists():
        raise ValidationError({"stage": "Move the deals in this stage elsewhere first."})
    if stage.pipeline.stages.count() <= 1:
        raise ValidationError({"stage": "A pipeline needs at least one stage."})
    audit_log.record(actor, "stage.deleted", stage, changes={"name": [stage.name, None]})
    stage.delete()


@transaction.atomic
def save_lost_reason(
    actor: Actor, reason: LostReason | None = None, *, name: str, active: bool = True
) -> LostReason:
    name = " ".join((name or "").split())[:100]
    if not name:
        raise ValidationError({"name": "Give the reason a name."})
    clash = LostReason.objects.filter(name__iexact=name)
    if reason is not None:
        clash = clash.exclude(pk=reason.pk)
    if clash.exists():
        raise ValidationError({"name": "This reason is on the list already."})
    if reason is None:
        position = (LostReason.objects.aggregate(m=Max("position"))["m"] or 0) + 1
        reason = LostReason.objects.create(name=name, active=active, position=position)
        audit_log.record(actor, "lost_reason.created", reason, changes={"name": [None, name]})
        return reason
    before = audit_log.snapshot(reason)
    reason.name, reason.active = name, active
    reason.save()
    changes = audit_log.diff(before, audit_log.snapshot(reason))
    if changes:
        audit_log.record(actor, "lost_reason.updated", reason, changes=changes)
    return reason
