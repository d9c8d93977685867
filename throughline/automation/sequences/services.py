"""Sequences: define them, enrol contacts, stop enrolments. One transaction each, audited."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.automation.models import (
    Enrollment,
    Sequence,
    SequenceStep,
    StopReason,
)
from throughline.automation.models.sequences import OTHER_STOP_REASONS
from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.crm.models import Contact
from throughline.messaging.models import EmailTemplate

KEY = re.compile(r"^[a-z0-9][a-z0-9-_]{0,79}$")
MAX_STEPS = 30


def _clean_sequence(data: dict[str, Any], instance: Sequence | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if instance is None:
        key = data.get("key") or ""
        if not KEY.match(key):
            errors["key"] = "Use lower-case letters, digits, '-' or '_'."
        elif Sequence.objects.filter(key=key).exists():
            errors["key"] = "Another sequence has this key."
        cleaned["key"] = key
    if "name" in data or instance is None:
        cleaned["name"] = " ".join((data.get("name") or "").split())
        if not cleaned["name"]:
            errors["name"] = "Give the sequence a name."
    for field in ("description", "purpose", "is_active"):
        if field in data:
            cleaned[field] = data[field]
    if "purpose" in cleaned and cleaned["purpose"] not in Sequence.Purpose.values:
        errors["purpose"] = f"Choose one of: {', '.join(Sequence.Purpose.values)}."
    if "stop_on" in data:
        stop_on = list(dict.fromkeys(data["stop_on"] or []))
        unknown = [r for r in stop_on if r not in StopReason.values]
        if unknown:
            errors["stop_on"] = f"Unknown stop condition {unknown[0]!r}."
        cleaned["stop_on"] = stop_on
    if errors:
        raise ValidationError(errors)
    return cleaned


def _clean_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors: dict[str, str] = {}
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": f"At most {MAX_STEPS} steps."})
    cleaned = []
    for index, step in enumerate(steps):
        where = f"steps.{index + 1}"
        kind = step.get("kind")
        if kind not in SequenceStep.Kind.values:
            errors[where] = f"Step {index + 1}: choose e-mail, task or wait."
            continue
        row = {"kind": kind, "position": index}
        if kind == SequenceStep.Kind.EMAIL:
            key = step.get("template_key") or ""
            if not EmailTemplate.objects.filter(key=key).exists():
                errors[where] = f"Step {index + 1}: no e-mail template {key!r}."
            row["template_key"] = key
        elif kind == SequenceStep.Kind.TASK:
            title = " ".join((step.get("task_title") or "").split())
            if not title:
                errors[where] = f"Step {index + 1}: a task needs a title."
            row["task_title"] = title[:200]
            row["task_due_business_days"] = int(step.get("task_due_business_days") or 1)
        else:
            days = step.get("wait_business_days")
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 260:
                errors[where] = f"Step {index + 1}: wait 1 to 260 business days."
            row["wait_business_days"] = days if isinstance(days, int) else 0
        cleaned.append(row)
    if not cleaned and not errors:
        errors["steps"] = "Give at least one step."
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def create_sequence(actor: Actor, *, steps: list[dict], **data: Any) -> Sequence:
    cleaned = _clean_sequence(data, None)
    cleaned_steps = _clean_steps(steps)
    sequence = Sequence.objects.create(**cleaned)
    SequenceStep.objects.bulk_create([SequenceStep(sequence=sequence, **s) for s in cleaned_steps])
    audit_log.record(
        actor,
        "sequence.created",
        sequence,
        changes={**audit_log.diff({}, audit_log.snapshot(sequence)), "steps": [None, len(steps)]},
    )
    return sequence


@transaction.atomic
def update_sequence(
    actor: Actor, sequence: Sequence, *, steps: list[dict] | None = None, **data: Any
) -> Sequence:
    """Change a sequence. Steps keep their rows where the position and kind still match,
    so statistics stay with them; enrolments continue at their next position."""
    sequence = Sequence.objects.select_for_update().get(pk=sequence.pk)
    before = audit_log.snapshot(sequence)
    for key, value in _clean_sequence(data, sequence).items():
        setattr(sequence, key, value)
    sequence.save()
    changes = audit_log.diff(before, audit_log.snapshot(sequence))
    if steps is not None:
        cleaned_steps = _clean_steps(steps)
        existing = list(sequence.steps.order_by("position", "id"))
        for index, row in enumerate(cleaned_steps):
            if index < len(existing) and existing[index].kind == row["kind"]:
                step = existing[index]
                for key, value in row.items():
                    setattr(step, key, value)
                step.save()
            else:
                if index < len(existing):
                    existing[index].delete()
                SequenceStep.objects.create(sequence=sequence, **row)
        for step in existing[len(cleaned_steps) :]:
            step.delete()
        changes["steps"] = [len(existing), len(cleaned_steps)]
    if changes:
        audit_log.record(actor, "sequence.updated", sequence, changes=changes)
    return sequence


@transaction.atomic
def enrol(
    actor: Actor,
    sequence: Sequence,
    contact: Contact,
    *,
    subject_type: str = "",
    subject_id: str = "",
    source: str = "",
) -> tuple[Enrollment, bool]:
    """Enrol a contact (once: an active enrolment is returned as it is)."""
    from throughline.automation.sequences.runner import advance_enrollment

    if not sequence.is_active:
        raise ValidationError(f"The sequence “{sequence}” is switched off.")
    existing = Enrollment.objects.filter(
        sequence=sequence,
        contact=contact,
        subject_type=subject_type,
        subject_id=subject_id,
        status=Enrollment.Status.ACTIVE,
    ).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                sequence=sequence,
                contact=contact,
                subject_type=subject_type,
                subject_id=subject_id,
                next_position=0,
                next_step_at=now,
                enrolled_by=actor.user,
                source=source[:120],
            )
    except IntegrityError:
        return (
            Enrollment.objects.get(
                sequence=sequence,
                contact=contact,
                subject_type=subject_type,
                subject_id=subject_id,
                status=Enrollment.Status.ACTIVE,
            ),
            False,
        )
    audit_log.record(
        actor,
        "sequence.enrolled",
        enrollment,
        changes={"sequence": [None, sequence.key], "contact": [None, str(contact.pk)]},
    )
    advance_enrollment.enqueue(str(enrollment.pk), 0)
    return enrollment, True


def stop(actor: Actor, enrollment: Enrollment, reason: str) -> bool:
    """Stop an active enrolment (caller holds the transaction); False if it had ended."""
    if reason not in StopReason.values and reason not in OTHER_STOP_REASONS:
        raise ValueError(f"Unknown stop reason {reason!r}")
    updated = Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(
        status=Enrollment.Status.STOPPED,
        stop_reason=reason,
        stopped_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if updated:
        audit_log.record(
            actor,
            "sequence.stopped",
            enrollment,
            changes={"status": ["active", "stopped"], "reason": [None, reason]},
        )
    return bool(updated)


@transaction.atomic
def remove(actor: Actor, contact: Contact, *, sequence_key: str | None = None) -> int:
    active = Enrollment.objects.filter(contact=contact, status=Enrollment.Status.ACTIVE)
    if sequence_key:
        active = active.filter(sequence__key=sequence_key)
    return sum(stop(actor, enrollment, "removed") for enrollment in active)


@transaction.atomic
def stop_enrollment(actor: Actor, enrollment_id, reason: str = "removed") -> Enrollment:
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment_id)
    if not stop(actor, enrollment, reason):
        raise ValidationError("This enrolment has already ended.")
    enrollment.refresh_from_db()
    return enrollment


def stop_label(reason: str) -> str:
    if reason in StopReason.values:
        return StopReason(reason).label
    return OTHER_STOP_REASONS.get(reason, reason)
