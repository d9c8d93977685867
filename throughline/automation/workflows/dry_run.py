"""Dry run: what a workflow would do for one record, with no side effect at all.

Conditions are evaluated (each comparison with the record's actual value), and each step is
described with its parameters filled in and, for waits, when it would end. No action
function is called; nothing is written.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from throughline.automation import registry
from throughline.automation.workflows.conditions import Evaluator, Explanation
from throughline.automation.workflows.definition import validate_params
from throughline.automation.workflows.engine import merge_context, render_params, wait_until
from throughline.core.models import DomainEvent


@dataclass
class DryStep:
    index: int
    step_id: str
    action: str
    label: str
    description: str
    params: dict
    at: dt.datetime | None = None
    note: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass
class DryRun:
    subject: Any
    subject_repr: str
    matched: bool
    explanation: Explanation
    event: DomainEvent | None
    steps: list[DryStep]


def latest_trigger_event(definition: dict, subject_type: str, subject: Any) -> DomainEvent | None:
    """The most recent triggering event on this record, for ``event.*`` conditions."""
    event_name = (definition.get("trigger") or {}).get("event")
    if not event_name or subject is None:
        return None
    return (
        DomainEvent.objects.filter(
            name=event_name, subject_type=subject_type, subject_id=str(subject.pk)
        )
        .order_by("-id")
        .first()
    )


def dry_run(definition: dict, subject: Any, *, now: dt.datetime | None = None) -> DryRun:
    now = now or timezone.now()
    subject_type = definition.get("subject", "")
    event = latest_trigger_event(definition, subject_type, subject)
    evaluator = Evaluator(subject_type, subject, event.payload if event else None)
    explanation = evaluator.explain(definition.get("conditions"))
    context = merge_context(subject_type, subject, event)
    at = now
    steps: list[DryStep] = []
    for index, spec in enumerate(definition.get("steps", [])):
        action = registry.action(spec.get("action"))
        params = dict(spec.get("params") or {})
        if action is None:
            steps.append(
                DryStep(
                    index,
                    spec.get("id", ""),
                    spec.get("action", ""),
                    "?",
                    "",
                    params,
                    problems=[f"unknown action {spec.get('action')!r}"],
                )
            )
            continue
        problems: list[str] = []
        validate_params(action, params, subject_type, "params", problems)
        try:
            shown = render_params(action, params, context)
        except ValidationError as exc:
            shown, problems = params, [*problems, *exc.messages]
        step = DryStep(
            index,
            spec["id"],
            action.name,
            action.label,
            action.describe(shown) if action.describe else action.label,
            shown,
            at=at,
            problems=problems,
        )
        if action.is_wait:
            until, note = wait_until(params, subject_type, subject, at)
            if until is not None and until > at:
                at = until
            step.at, step.note = at, note
        steps.append(step)
    return DryRun(
        subject=subject,
        subject_repr=str(subject) if subject is not None else "",
        matched=explanation.result,
        explanation=explanation,
        event=event,
        steps=steps,
    )
