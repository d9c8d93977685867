"""The JSON definition of a workflow, and its validation.

```json
{
  "trigger": {"type": "event", "event": "contact.created"},
  "subject": "crm.contact",
  "conditions": {"all": [{"field": "custom.size", "op": "gt", "value": 10}]},
  "steps": [
    {"id": "call", "action": "task.create", "params": {"title": "Call {{ subject }}"}},
    {"id": "pause", "action": "wait", "params": {"business_days": 2}},
    {"id": "hello", "action": "email.send", "params": {"template": "welcome"}}
  ]
}
```

Triggers: ``{"type": "event", "event": E}``; ``{"type": "schedule", "cron": "0 9 * * 1-5"}``
(in the organization's time zone; ``subject`` optional: with one, each matching record gets a
run); ``{"type": "absence", "event": A, "missing": B, "business_days": N}``.

``validate_definition`` returns a normalized copy or raises ``DefinitionError`` listing every
problem with its place (``steps[2].action: unknown action 'foo'``). It also refuses a workflow
that would certainly loop (a cycle of workflows without conditions, each triggering the next
through the events its actions emit) or whose chain would be cut by the loop guard.
"""

from __future__ import annotations

import re
from typing import Any

from croniter import croniter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from throughline.automation import registry
from throughline.automation.workflows import conditions
from throughline.core.events import EVENT_NAMES

MAX_STEPS = 50
MAX_BUSINESS_DAYS = 260
STEP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
TOP_KEYS = {"trigger", "subject", "conditions", "steps"}
TEXT_LIMITS = {"text": 500, "longtext": 10_000}


def max_chain_depth() -> int:
    """Workflows triggering workflows: the loop guard stops a chain at this depth."""
    return getattr(settings, "AUTOMATION_MAX_CHAIN_DEPTH", 5)


class DefinitionError(ValidationError):
    """A workflow definition that cannot be saved; ``problems`` names each one."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "; ".join(self.problems)


def validate_definition(
    data: Any, *, workflow_key: str = "", check_graph: bool = True
) -> dict[str, Any]:
    problems: list[str] = []
    if not isinstance(data, dict):
        raise DefinitionError(["definition: must be a JSON object"])
    unknown = set(data) - TOP_KEYS
    if unknown:
        problems.append(f"definition: unknown key(s) {', '.join(sorted(unknown))}")
    trigger = _validate_trigger(data.get("trigger"), problems)
    subject = _validate_subject(data.get("subject"), trigger, problems)
    conds = conditions.validate(
        data.get("conditions"),
        subject,
        "conditions",
        problems,
        allow_event=trigger.get("type") in {"event", "absence"},
    )
    if conds is not None and not subject:
        problems.append("conditions: conditions need a subject to compare")
    steps = _validate_steps(data.get("steps"), subject, problems)
    if problems:
        raise DefinitionError(problems)
    definition = {"trigger": trigger, "subject": subject, "conditions": conds, "steps": steps}
    if check_graph:
        problems.extend(check_chains(workflow_key, definition))
        if problems:
            raise DefinitionError(problems)
    return definition


# --- trigger and subject --------------------------------------------------------------------


def _event_name(value: Any, path: str, problems: list[str]) -> str:
    if not isinstance(value, str) or not value:
        problems.append(f"{path}: name an event")
        return ""
    if value not in EVENT_NAMES:
        problems.append(f"{path}: unknown event {value!r}")
        return ""
    return value


def _validate_trigger(trigger: Any, problems: list[str]) -> dict[str, Any]:
    if not isinstance(trigger, dict):
        problems.append("trigger: must be an object with a 'type'")
        return {}
    kind = trigger.get("type")
    allowed = {"event": {"type", "event"}, "schedule": {"type", "cron"}}
    allowed["absence"] = {"type", "event", "missing", "business_days"}
    if kind not in allowed:
        problems.append(f"trigger.type: unknown trigger type {kind!r} (event, schedule, absence)")
        return {}
    unknown = set(trigger) - allowed[kind]
    if unknown:
        problems.append(f"trigger: unknown key(s) {', '.join(sorted(unknown))}")
    if kind == "event":
        return {"type": kind, "event": _event_name(trigger.get("event"), "trigger.event", problems)}
    if kind == "schedule":
        cron = trigger.get("cron")
        if not isinstance(cron, str) or not croniter.is_valid(cron) or len(cron.split()) != 5:
            problems.append(
                f"trigger.cron: {cron!r} is not a cron expression (minute hour day month weekday)"
            )
            return {"type": kind, "cron": ""}
        return {"type": kind, "cron": " ".join(cron.split())}
    start = _event_name(trigger.get("event"), "trigger.event", problems)
    missing = _event_name(trigger.get("missing"), "trigger.missing", problems)
    if start and start == missing:
        problems.append("trigger.missing: must differ from trigger.event")
    days = trigger.get("business_days")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_BUSINESS_DAYS:
        problems.append(
            f"trigger.business_days: a whole number from 1 to {MAX_BUSINESS_DAYS}, not {days!r}"
        )
        days = 0
    return {"type": kind, "event": start, "missing": missing, "business_days": days}


def _validate_subject(subject: Any, trigger: dict, problems: list[str]) -> str:
    if subject in (None, ""):
        if trigger.get("type") in {"event", "absence"}:
            problems.append(
                "subject: name what the workflow is about "
                f"({', '.join(sorted(registry.subject_types()))})"
            )
        return ""
    if not isinstance(subject, str) or registry.subject_type(subject) is None:
        problems.append(f"subject: unknown subject type {subject!r}")
        return ""
    return subject


# --- steps ----------------------------------------------------------------------------------


def _validate_steps(steps: Any, subject: str, problems: list[str]) -> list[dict]:
    if not isinstance(steps, list) or not steps:
        problems.append("steps: give at least one step")
        return []
    if len(steps) > MAX_STEPS:
        problems.append(f"steps: at most {MAX_STEPS} steps")
        return []
    cleaned, seen = [], set()
    for index, step in enumerate(steps):
        path = f"steps[{index}]"
        if not isinstance(step, dict):
            problems.append(f"{path}: must be an object")
            continue
        unknown = set(step) - {"id", "action", "params"}
        if unknown:
            problems.append(f"{path}: unknown key(s) {', '.join(sorted(unknown))}")
        step_id = step.get("id") or f"step-{index + 1}"
        if not isinstance(step_id, str) or not STEP_ID.match(step_id):
            problems.append(f"{path}.id: use lower-case letters, digits, '-' or '_'")
        elif step_id in seen:
            problems.append(f"{path}.id: {step_id!r} is used by another step")
        seen.add(step_id)
        name = step.get("action")
        action = registry.action(name) if isinstance(name, str) else None
        if action is None:
            problems.append(f"{path}.action: unknown action {name!r}")
            continue
        if action.subjects is not None and subject not in action.subjects:
            problems.append(
                f"{path}.action: {name!r} works on {', '.join(action.subjects)}, "
                f"not on {subject or 'workflows without a subject'}"
            )
            continue
        if action.needs_contact:
            subject_spec = registry.subject_type(subject) if subject else None
            if subject_spec is None or subject_spec.contact_of is None:
                problems.append(f"{path}.action: {name!r} needs a subject with a contact")
                continue
        params = validate_params(
            action, step.get("params") or {}, subject, f"{path}.params", problems
        )
        if params is not None and action.check is not None:
            problems.extend(f"{path}.params: {p}" for p in action.check(params, subject))
        cleaned.append({"id": step_id, "action": name, "params": params or {}})
    return cleaned


def validate_params(
    action: registry.Action, params: Any, subject: str, path: str, problems: list[str]
) -> dict | None:
    if not isinstance(params, dict):
        problems.append(f"{path}: must be an object")
        return None
    before = len(problems)
    unknown = set(params) - {p.name for p in action.params}
    for name in sorted(unknown):
        problems.append(f"{path}.{name}: unknown parameter for {action.name!r}")
    cleaned: dict[str, Any] = {}
    for param in action.params:
        value = params.get(param.name)
        if value in (None, ""):
            if param.default is not None:
                value = param.default
            elif param.required:
                problems.append(f"{path}.{param.name}: required")
                continue
            else:
                continue
        error = _check_param(param, value, subject)
        if error:
            problems.append(f"{path}.{param.name}: {error}")
        else:
            cleaned[param.name] = value
    return cleaned if len(problems) == before else None


def _check_param(param: registry.Param, value: Any, subject: str) -> str:  # noqa: C901
    from throughline.automation.models import Sequence
    from throughline.core.models import User
    from throughline.messaging.models import EmailTemplate
    from throughline.messaging.rendering import check_template

    kind = param.type
    if kind in TEXT_LIMITS:
        if not isinstance(value, str):
            return "must be text"
        if len(value) > TEXT_LIMITS[kind]:
            return f"at most {TEXT_LIMITS[kind]} characters"
        try:
            check_template(value)
        except ValidationError as exc:
            return " ".join(exc.messages)
        return ""
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, not {value!r}"
        if param.min is not None and value < param.min:
            return f"must be at least {param.min}"
        if param.max is not None and value > param.max:
            return f"must be at most {param.max}"
        return ""
    if kind == "boolean":
        return "" if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if kind == "choice":
        return "" if value in param.choices else f"must be one of {', '.join(param.choices)}"
    if kind == "email":
        try:
            validate_email(value)
        except (ValidationError, TypeError):
            return f"{value!r} is not an e-mail address"
        return ""
    if kind == "user":
        if value in {"subject_owner"}:
            return "" if subject else "'subject_owner' needs a subject"
        if (
            not isinstance(value, str)
            or not User.objects.filter(email__iexact=value, is_active=True).exists()
        ):
            return f"no active user {value!r}"
        return ""
    if kind == "template":
        if not isinstance(value, str) or not EmailTemplate.objects.filter(key=value).exists():
            return f"no e-mail template {value!r}"
        return ""
    if kind == "sequence":
        if value == "*" and param.choices and "*" in param.choices:
            return ""
        if not isinstance(value, str) or not Sequence.objects.filter(key=value).exists():
            return f"no sequence {value!r}"
        return ""
    if kind in {"field", "date_field"}:
        specs = conditions.field_specs(subject) if subject else {}
        spec = specs.get(value) if isinstance(value, str) else None
        if spec is None:
            return f"unknown field {value!r}" + (f" on {subject}" if subject else "")
        if kind == "date_field" and spec.type not in {"date", "datetime"}:
            return f"{value!r} is not a date field"
        return ""
    if kind == "setter_field":
        if not isinstance(value, str) or registry.setter_for(subject, value) is None:
            return f"{value!r} cannot be changed by a workflow on {subject or 'no subject'}"
        if value.startswith("custom.") and value not in conditions.field_specs(subject):
            return f"unknown field {value!r} on {subject}"
        return ""
    return ""  # "any"


# --- the graph of workflows -----------------------------------------------------------------


def trigger_events(definition: dict) -> set[str]:
    trigger = definition.get("trigger") or {}
    if trigger.get("type") in {"event", "absence"} and trigger.get("event"):
        return {trigger["event"]}
    return set()


def emitted_events(definition: dict) -> set[str]:
    out: set[str] = set()
    for step in definition.get("steps", []):
        action = registry.action(step.get("action"))
        if action is not None:
            out.update(action.emits_for(definition.get("subject", "")))
    return out


def check_chains(workflow_key: str, candidate: dict) -> list[str]:
    """A certain loop (a cycle of workflows without conditions) or a chain too deep."""
    from throughline.automation.models import Workflow

    nodes: dict[str, dict] = {}
    others = Workflow.objects.filter(is_active=True).select_related("current_version")
    for workflow in others.exclude(key=workflow_key):
        if workflow.current_version is not None:
            nodes[workflow.key] = workflow.current_version.definition
    me = workflow_key or "(this workflow)"
    nodes[me] = candidate

    def successors(key: str) -> list[tuple[str, str]]:
        emits = emitted_events(nodes[key])
        return [
            (other, event)
            for other, definition in nodes.items()
            for event in sorted(emits & trigger_events(definition))
        ]

    problems: list[str] = []
    cycle = _unconditional_cycle(me, nodes, successors)
    if cycle:
        problems.append(
            "cycle: "
            + " → ".join(cycle)
            + " would run forever; add a condition that stops it, or change a step"
        )
        return problems
    limit = max_chain_depth()
    longest = _longest_chain(me, nodes, successors)
    if len(longest) > limit:
        problems.append(
            f"chain too deep: {' → '.join(longest)} is {len(longest)} workflows long; "
            f"the loop guard stops chains after {limit}"
        )
    return problems


def _unconditional_cycle(start, nodes, successors) -> list[str]:
    if nodes[start].get("conditions"):
        return []

    def visit(key: str, path: list[str], seen: set[str]) -> list[str]:
        for other, event in successors(key):
            if nodes[other].get("conditions"):
                continue
            step = [*path, f"{event}", other]
            if other == start:
                return step
            if other not in seen:
                seen.add(other)
                found = visit(other, step, seen)
                if found:
                    return found
        return []

    return visit(start, [start], {start})


def _longest_chain(start, nodes, successors, budget: int = 5000) -> list[str]:
    """The longest simple chain of workflows through ``start`` (names only)."""
    predecessors: dict[str, list[str]] = {key: [] for key in nodes}
    for key in nodes:
        for other, _ in successors(key):
            predecessors[other].append(key)
    counter = {"left": budget}

    def walk(key: str, neighbours, seen: frozenset) -> list[str]:
        best: list[str] = []
        for other in dict.fromkeys(neighbours(key)):
            counter["left"] -= 1
            if other in seen or counter["left"] <= 0:
                continue
            path = walk(other, neighbours, seen | {other})
            if len(path) + 1 > len(best):
                best = [other, *path]
        return best

    forward = walk(start, lambda k: [o for o, _ in successors(k)], frozenset({start}))
    backward = walk(start, lambda k: predecessors[k], frozenset({start, *forward}))
    return [*reversed(backward), start, *forward]
