"""The qualification rubric: evaluate a lead, act on the outcome, edit the rubric.

Points of the weighted criteria a lead meets decide the outcome against two thresholds
(``discovery_at`` ≥ ``nurture_at``): schedule discovery, nurture, or reject. A knock-out
criterion that is not met rejects whatever the points. Each outcome has its action:

* **reject** — ``intake.services.reject_lead`` (``lead.rejected``), plus the polite decline
  e-mail when the rubric says so;
* **nurture** — status nurturing, enrolment in the rubric's sequence (``lead.nurtured``);
* **schedule discovery** — status qualified, the owner's booking link e-mailed
  (``lead.qualified``).

The evaluation and its reasons are kept on ``Lead.qualification`` for the lead page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.lookup_cache import cached_config
from throughline.core.models import Organization
from throughline.intake.models import Lead
from throughline.intake.scoring import conditions
from throughline.intake.scoring.booking import booking_link_for
from throughline.intake.scoring.models import Criterion, Outcome, QualificationRubric

DECLINE_TEMPLATE = "lead-decline"
DISCOVERY_TEMPLATE = "lead-discovery"
AUDIT_ACTIONS = {Lead.Status.QUALIFIED: "lead.qualified", Lead.Status.NURTURING: "lead.nurtured"}
DECISIONS = {"accept": Outcome.DISCOVERY, "nurture": Outcome.NURTURE, "reject": Outcome.REJECT}


@dataclass
class Evaluation:
    outcome: str
    points: int
    reasons: list[str] = field(default_factory=list)
    knocked_out: bool = False

    def as_json(self, *, applied: bool, decided_by: str) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "points": self.points,
            "reasons": self.reasons,
            "knocked_out": self.knocked_out,
            "applied": applied,
            "decided_by": decided_by,
            "at": timezone.now().isoformat(),
        }


def evaluate(
    lead: Lead, rubric: QualificationRubric | None = None, criteria: list | None = None
) -> Evaluation:
    """The rubric's verdict on ``lead`` (nothing is written)."""
    rubric = rubric or QualificationRubric.current()
    points, reasons, knocked_out = 0, [], False
    for criterion in rubric.criteria.all() if criteria is None else criteria:
        met = conditions.matches(lead, criterion.field, criterion.operator, criterion.value)
        if criterion.knockout:
            if not met:
                knocked_out = True
                reasons.append(f"Knock-out: {criterion.label} — not met")
            else:
                reasons.append(f"{criterion.label} — met (required)")
            continue
        if met:
            points += criterion.points
            reasons.append(f"{criterion.label} — met ({criterion.points:+d})")
        else:
            reasons.append(f"{criterion.label} — not met")
    if knocked_out:
        outcome = Outcome.REJECT
    elif points >= rubric.discovery_at:
        outcome = Outcome.DISCOVERY
    elif points >= rubric.nurture_at:
        outcome = Outcome.NURTURE
    else:
        outcome = Outcome.REJECT
    reasons.append(
        f"{points} points: {Outcome(outcome).label.lower()} "
        f"(discovery from {rubric.discovery_at}, nurture from {rubric.nurture_at})"
    )
    return Evaluation(str(outcome), points, reasons, knocked_out)


def _lock(lead: Lead) -> Lead:
    return (
        Lead.objects.select_for_update(of=("self",))
        .select_related("contact", "source", "owner", "company")
        .get(pk=lead.pk)
    )


def _email(actor: Actor, lead: Lead, template: str, extra: dict[str, Any], key: str):
    from throughline.intake.capture import acknowledgement_context
    from throughline.messaging.services import queue_templated_email

    to = lead.email or lead.contact.email
    if not to:
        return None
    context = acknowledgement_context(lead, lead.contact, Organization.current())
    context.update(extra)
    return queue_templated_email(
        actor,
        template,
        to=to,
        context=context,
        contact=lead.contact,
        source=lead.task_source,
        idempotency_key=key,
    )


def _set_status(actor: Actor, lead: Lead, status: str, reason: str, qualification: dict) -> None:
    before = lead.status
    lead.status = status
    lead.status_reason = reason[:300]
    lead.qualification = qualification
    lead.save(update_fields=["status", "status_reason", "qualification", "updated_at"])
    audit_log.record(
        actor,
        AUDIT_ACTIONS[status],
        lead,
        changes={"status": [before, status], "status_reason": ["", lead.status_reason]},
    )


def _apply(actor: Actor, lead: Lead, outcome: str, reason: str, qualification: dict) -> Lead:
    from throughline.intake import services as intake

    rubric = QualificationRubric.current()
    if outcome == Outcome.REJECT:
        lead.qualification = qualification
        lead.save(update_fields=["qualification", "updated_at"])
        lead = intake.reject_lead(actor, lead, reason="not_a_fit", note=reason)
        if rubric.send_decline_email:
            _email(actor, lead, DECLINE_TEMPLATE, {}, f"lead-decline:{lead.pk}")
        return lead
    if outcome == Outcome.NURTURE:
        sequence = rubric.nurture_sequence
        enrolled = False
        if sequence is not None and sequence.is_active:
            from throughline.automation.sequences.services import enrol

            _, enrolled = enrol(
                actor,
                sequence,
                lead.contact,
                subject_type="intake.lead",
                subject_id=str(lead.pk),
                source="qualification",
            )
        _set_status(actor, lead, Lead.Status.NURTURING, reason or "Not ready yet", qualification)
        events.emit(
            actor,
            "lead.nurtured",
            lead,
            contact_id=str(lead.contact_id),
            sequence=sequence.key if sequence is not None else None,
            enrolled=enrolled,
            reason=reason[:300],
        )
        return lead
    url = booking_link_for(lead.owner)
    _set_status(actor, lead, Lead.Status.QUALIFIED, reason or "Discovery call", qualification)
    _email(
        actor,
        lead,
        DISCOVERY_TEMPLATE,
        {"booking_url": url},
        f"lead-discovery:{lead.pk}:{timezone.now():%Y%m%d%H%M}",
    )
    events.emit(
        actor,
        "lead.qualified",
        lead,
        contact_id=str(lead.contact_id),
        next_step="discovery",
        booking_url=url,
        owner_id=str(lead.owner_id) if lead.owner_id else None,
        reason=reason[:300],
    )
    return lead


def _rubric_and_criteria() -> tuple[QualificationRubric, list[Criterion]]:
    """The rubric and its criteria; no criteria when it is switched off."""
    rubric = QualificationRubric.current()
    return rubric, list(rubric.criteria.all()) if rubric.is_active else []


def qualify_at_capture(actor: Actor, lead: Lead) -> Evaluation | None:
    """Run the active rubric on a just-captured lead (inside the capture transaction)."""
    rubric, criteria = cached_config("intake.rubric", _rubric_and_criteria)
    if not criteria:  # switched off, or nothing to judge by
        return None
    evaluation = evaluate(lead, rubric, criteria)
    qualification = evaluation.as_json(applied=rubric.auto_apply, decided_by="rubric")
    if rubric.auto_apply:
        _apply(actor, lead, evaluation.outcome, _summary(evaluation), qualification)
    else:
        Lead.objects.filter(pk=lead.pk).update(qualification=qualification)
        lead.qualification = qualification
    return evaluation


def _summary(evaluation: Evaluation) -> str:
    failed = [r for r in evaluation.reasons if r.startswith("Knock-out")]
    return (failed[0] if failed else evaluation.reasons[-1])[:300]


def _check_open(lead: Lead) -> None:
    if lead.status in {Lead.Status.REJECTED, Lead.Status.CONVERTED}:
        raise ValidationError(
            {"decision": f"This lead is already {lead.get_status_display().lower()}."}
        )


@transaction.atomic
def reapply_rubric(actor: Actor, lead: Lead) -> Evaluation:
    """Evaluate the rubric again (after an answer or the rubric changed) and act on it."""
    lead = _lock(lead)
    _check_open(lead)
    if not Criterion.objects.exists():
        raise ValidationError({"__all__": "The rubric has no criteria yet (Leads → Lead scoring)."})
    evaluation = evaluate(lead)
    current = {Lead.Status.QUALIFIED: Outcome.DISCOVERY, Lead.Status.NURTURING: Outcome.NURTURE}
    qualification = evaluation.as_json(applied=True, decided_by=actor.display)
    if current.get(lead.status) == evaluation.outcome:
        Lead.objects.filter(pk=lead.pk).update(qualification=qualification)
        return evaluation  # already there: nothing to send again
    _apply(actor, lead, evaluation.outcome, _summary(evaluation), qualification)
    return evaluation


@transaction.atomic
def decide(actor: Actor, lead: Lead, decision: str, reason: str = "") -> Lead:
    """A person's decision: ``accept`` (schedule discovery), ``nurture`` or ``reject``."""
    if decision not in DECISIONS:
        raise ValidationError({"decision": f"Choose one of: {', '.join(DECISIONS)}."})
    reason = " ".join((reason or "").split())[:300]
    if decision == "reject" and not reason:
        raise ValidationError({"reason": "Say why the lead is rejected."})
    lead = _lock(lead)
    _check_open(lead)
    outcome = DECISIONS[decision]
    target = {Outcome.DISCOVERY: Lead.Status.QUALIFIED, Outcome.NURTURE: Lead.Status.NURTURING}
    if target.get(outcome) == lead.status:
        raise ValidationError(
            {"decision": f"This lead is already {lead.get_status_display().lower()}."}
        )
    qualification = {
        **(lead.qualification or {}),
        "outcome": str(outcome),
        "applied": True,
        "decided_by": actor.display,
        "decision_reason": reason,
        "at": timezone.now().isoformat(),
    }
    return _apply(actor, lead, outcome, reason, qualification)


# --- Editing the rubric ----------------------------------------------------------------------

RUBRIC_FIELDS = (
    "is_active",
    "auto_apply",
    "discovery_at",
    "nurture_at",
    "nurture_sequence",
    "send_decline_email",
)


def _integer(value: Any, name: str, errors: dict) -> int | None:
    number = conditions._number(value)
    if number is None or number != number.to_integral_value():
        errors[name] = f"“{value}” is not a whole number."
        return None
    return int(number)


@transaction.atomic
def update_rubric(actor: Actor, **data: Any) -> QualificationRubric:
    unknown = set(data) - set(RUBRIC_FIELDS)
    if unknown:
        raise ValidationError({k: "Unknown setting." for k in sorted(unknown)})
    rubric = QualificationRubric.objects.select_for_update().get(
        pk=QualificationRubric.current().pk
    )
    errors: dict[str, str] = {}
    before = {
        k: getattr(rubric, k if k != "nurture_sequence" else "nurture_sequence_id")
        for k in RUBRIC_FIELDS
    }
    for key in ("discovery_at", "nurture_at"):
        if key in data:
            data[key] = _integer(data[key], key, errors)
    discovery = data.get("discovery_at", rubric.discovery_at)
    nurture = data.get("nurture_at", rubric.nurture_at)
    if not errors and discovery is not None and nurture is not None and nurture > discovery:
        errors["nurture_at"] = "The nurture threshold must not be above the discovery threshold."
    if data.get("is_active") and not rubric.criteria.exists():
        errors["is_active"] = "Add at least one criterion before switching the rubric on."
    sequence = data.get("nurture_sequence", rubric.nurture_sequence)
    if sequence is not None and not sequence.is_active:
        errors["nurture_sequence"] = f"The sequence “{sequence}” is switched off."
    if errors:
        raise ValidationError(errors)
    for key, value in data.items():
        setattr(
            rubric,
            key,
            bool(value) if key in {"is_active", "auto_apply", "send_decline_email"} else value,
        )
    rubric.save()
    after = {
        k: getattr(rubric, k if k != "nurture_sequence" else "nurture_sequence_id")
        for k in RUBRIC_FIELDS
    }
    audit_log.record(
        actor,
        "qualification_rubric.updated",
        rubric,
        changes={
            k: [str(before[k]), str(after[k])] for k in RUBRIC_FIELDS if before[k] != after[k]
        },
    )
    return rubric


@transaction.atomic
def add_criterion(
    actor: Actor,
    *,
    label: str,
    field: str,
    operator: str,
    value: Any = None,
    points: Any = 0,
    knockout: bool = False,
    kind: str = Criterion.Kind.CUSTOM,
) -> Criterion:
    """A new rubric criterion; refused with the reason when it could never be evaluated."""
    errors: dict[str, str] = {}
    label = " ".join((label or "").split())[:120]
    if not label:
        errors["label"] = "Name the criterion."
    if kind not in Criterion.Kind.values:
        errors["kind"] = f"Unknown kind “{kind}”."
    whole = _integer(points if points not in (None, "") else 0, "points", errors)
    if knockout and not (field or "").strip():
        errors["field"] = "A knock-out needs a condition: choose a field."
    try:
        value = conditions.validate(field, operator, value)
    except ValidationError as exc:
        errors.update({k: v[0] for k, v in exc.message_dict.items() if k not in errors})
    if errors:
        raise ValidationError(errors)
    rubric = QualificationRubric.current()
    criterion = Criterion.objects.create(
        rubric=rubric,
        position=rubric.criteria.count(),
        kind=kind,
        label=label,
        field=field.strip(),
        operator=operator,
        value=value,
        points=0 if knockout else whole,
        knockout=bool(knockout),
    )
    audit_log.record(
        actor,
        "qualification_criterion.created",
        criterion,
        changes={
            "condition": [None, conditions.describe(criterion.field, operator, value)],
            "points": [None, criterion.points],
            "knockout": [None, criterion.knockout],
        },
    )
    return criterion


@transaction.atomic
def delete_criterion(actor: Actor, criterion: Criterion) -> None:
    audit_log.record(
        actor,
        "qualification_criterion.deleted",
        criterion,
        changes={"label": [criterion.label, None]},
    )
    criterion.delete()
