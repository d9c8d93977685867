"""Conditions on a subject's fields and custom fields, combined with and/or groups.

A condition is a leaf ``{"field": "custom.size", "op": "gt", "value": 10}`` or a group
``{"all": [...]}`` / ``{"any": [...]}``. Fields: those the subject type registers, its custom
fields (``custom.<key>``), and the triggering event's payload (``event.<key>``, untyped).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from throughline.automation import registry
from throughline.crm.models import CustomFieldDefinition

OPERATORS = {
    "eq": "equals",
    "ne": "does not equal",
    "gt": "is greater than",
    "lt": "is less than",
    "contains": "contains",
    "in": "is one of",
    "is_empty": "is empty",
}
ORDERED_TYPES = {"number", "date", "datetime"}
MAX_DEPTH = 4

_CUSTOM_KIND_TO_TYPE = {
    CustomFieldDefinition.Kind.TEXT: "text",
    CustomFieldDefinition.Kind.NUMBER: "number",
    CustomFieldDefinition.Kind.DATE: "date",
    CustomFieldDefinition.Kind.CHOICE: "choice",
    CustomFieldDefinition.Kind.BOOLEAN: "boolean",
}


def field_specs(subject_type_key: str) -> dict[str, registry.FieldSpec]:
    """Every field a condition (or wait, or setter) may name on this subject type."""
    subject = registry.subject_type(subject_type_key)
    if subject is None:
        return {}
    specs = dict(subject.fields)
    if subject.custom_entity:
        for definition in CustomFieldDefinition.objects.filter(entity=subject.custom_entity):
            name = f"custom.{definition.key}"
            specs[name] = registry.FieldSpec(
                name,
                _CUSTOM_KIND_TO_TYPE.get(definition.kind, "text"),
                definition.label,
                tuple(str(c) for c in definition.choices or ()),
                getter=_custom_getter(definition.key),
            )
    return specs


def _custom_getter(key: str):
    return lambda obj: (getattr(obj, "custom", None) or {}).get(key)


def event_field(name: str) -> registry.FieldSpec:
    key = name.removeprefix("event.")
    return registry.FieldSpec(name, "text", f"Event: {key}")


class ConditionValueError(ValueError):
    pass


def coerce(value: Any, type_: str) -> Any:
    """A definition's value (or a record's) as a comparable Python value of ``type_``."""
    if value is None or value == "":
        return None
    if type_ == "number":
        if isinstance(value, bool):
            raise ConditionValueError("expects a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ConditionValueError("expects a number") from exc
        if not number.is_finite():
            raise ConditionValueError("expects a finite number")
        return number
    if type_ == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError as exc:
            raise ConditionValueError("expects a date (YYYY-MM-DD)") from exc
    if type_ == "datetime":
        if isinstance(value, dt.datetime):
            return value
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ConditionValueError("expects a date and time (ISO 8601)") from exc
        if parsed.tzinfo is None:
            raise ConditionValueError("expects a time with its time zone")
        return parsed
    if type_ == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in {"true", "yes", "1", "on"}:
            return True
        if text in {"false", "no", "0", "off"}:
            return False
        raise ConditionValueError("expects true or false")
    if type_ == "list":
        return [str(v) for v in value] if isinstance(value, list | tuple | set) else [str(value)]
    return str(value)


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass
class Explanation:
    """How one leaf (or group) evaluated: for the dry run and the run log."""

    text: str
    result: bool
    actual: Any = None
    children: list[Explanation] = field(default_factory=list)


def _display(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(empty)"
    return str(value)


class Evaluator:
    def __init__(self, subject_type_key: str, subject: Any, event_payload: dict | None = None):
        self.subject = subject
        self.payload = event_payload or {}
        self.specs = field_specs(subject_type_key)

    def value(self, name: str) -> tuple[registry.FieldSpec, Any]:
        if name.startswith("event."):
            return event_field(name), self.payload.get(name.removeprefix("event."))
        spec = self.specs.get(name)
        if spec is None:
            raise ConditionValueError(f"unknown field {name!r}")
        return spec, spec.value_of(self.subject) if self.subject is not None else None

    def explain(self, condition: dict | None) -> Explanation:
        if not condition:
            return Explanation("No conditions", True)
        for combinator in ("all", "any"):
            if combinator in condition:
                children = [self.explain(c) for c in condition[combinator]]
                outcomes = [c.result for c in children]
                result = all(outcomes) if combinator == "all" else any(outcomes)
                label = "All of" if combinator == "all" else "Any of"
                return Explanation(label, result, children=children)
        return self._leaf(condition)

    def matches(self, condition: dict | None) -> bool:
        return self.explain(condition).result

    def _leaf(self, leaf: dict) -> Explanation:
        try:
            spec, raw = self.value(leaf["field"])
        except ConditionValueError:
            # e.g. a custom field deleted after the workflow was saved: the leaf cannot hold.
            return Explanation(f"{leaf['field']}: unknown field", False)
        op = leaf["op"]
        expected = leaf.get("value")
        text = f"{spec.label or spec.name} {OPERATORS[op]}"
        if op != "is_empty":
            text += f" {_display(expected)}"
        try:
            result = compare(raw, op, expected, spec.type)
        except ConditionValueError:
            result = False
        return Explanation(text, result, actual=_display(raw))


def compare(raw: Any, op: str, expected: Any, type_: str) -> bool:
    if op == "is_empty":
        wanted = True if expected is None else coerce(expected, "boolean")
        return _is_empty(raw) == wanted
    actual = coerce(raw, type_)
    if op == "contains":
        if actual is None:
            return False
        if isinstance(actual, list):
            return str(expected).lower() in {v.lower() for v in actual}
        return str(expected).lower() in str(actual).lower()
    if op == "in":
        options = [coerce(v, type_) for v in (expected or [])]
        if isinstance(actual, list):
            return any(v in options for v in actual)
        return actual in options
    want = coerce(expected, type_)
    if op in {"eq", "ne"}:
        if type_ == "list" and isinstance(actual, list) and isinstance(want, list):
            equal = sorted(actual) == sorted(want)
        elif type_ in {"text", "choice", "user"} and actual is not None and want is not None:
            equal = actual.lower() == want.lower() if type_ == "user" else actual == want
        else:
            equal = actual == want
        return equal if op == "eq" else not equal
    if actual is None or want is None:
        return False
    return actual > want if op == "gt" else actual < want


# --- validation -----------------------------------------------------------------------------


def validate(
    condition: Any, subject_type_key: str, path: str, problems: list[str], *, allow_event: bool
) -> dict | None:
    """Check a condition tree; append messages naming the place and the problem."""
    if condition in (None, {}, []):
        return None
    specs = field_specs(subject_type_key) if subject_type_key else {}
    return _validate_node(condition, specs, path, problems, 1, allow_event)


def _validate_node(node, specs, path, problems, depth, allow_event) -> dict | None:
    if not isinstance(node, dict):
        problems.append(f"{path}: a condition must be an object")
        return None
    groups = [k for k in ("all", "any") if k in node]
    if groups:
        if depth > MAX_DEPTH:
            problems.append(f"{path}: conditions are nested deeper than {MAX_DEPTH} levels")
            return None
        if len(groups) > 1 or len(node) > 1:
            problems.append(f"{path}: a group has exactly one of 'all' or 'any'")
            return None
        key = groups[0]
        children = node[key]
        if not isinstance(children, list):
            problems.append(f"{path}.{key}: must be a list of conditions")
            return None
        cleaned = [
            _validate_node(child, specs, f"{path}.{key}[{i}]", problems, depth + 1, allow_event)
            for i, child in enumerate(children)
        ]
        return {key: [c for c in cleaned if c is not None]}
    return _validate_leaf(node, specs, path, problems, allow_event)


def _validate_leaf(node, specs, path, problems, allow_event) -> dict | None:
    unknown_keys = set(node) - {"field", "op", "value"}
    if unknown_keys:
        problems.append(f"{path}: unknown key(s) {', '.join(sorted(unknown_keys))}")
        return None
    name, op = node.get("field"), node.get("op")
    if not isinstance(name, str) or not name:
        problems.append(f"{path}.field: name a field")
        return None
    if name.startswith("event."):
        if not allow_event:
            problems.append(f"{path}.field: {name!r} needs an event trigger")
            return None
        spec = event_field(name)
    else:
        spec = specs.get(name)
        if spec is None:
            problems.append(f"{path}.field: unknown field {name!r}")
            return None
    if op not in OPERATORS:
        problems.append(f"{path}.op: unknown operator {op!r} (use one of {', '.join(OPERATORS)})")
        return None
    value = node.get("value")
    if op in {"gt", "lt"} and spec.type not in ORDERED_TYPES:
        problems.append(f"{path}.op: {op!r} needs a number or date field; {name!r} is {spec.type}")
        return None
    if op == "in" and not isinstance(value, list):
        problems.append(f"{path}.value: 'in' needs a list of values")
        return None
    if op == "contains" and spec.type not in {"text", "list", "choice", "user"}:
        problems.append(
            f"{path}.op: 'contains' needs a text or list field; {name!r} is {spec.type}"
        )
        return None
    try:
        if op == "is_empty":
            if value is not None:
                coerce(value, "boolean")
        elif op == "in":
            for item in value:
                coerce(item, spec.type)
        elif op == "contains":
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ConditionValueError("expects a text value")
        elif spec.type != "list":
            coerce(value, spec.type)
    except ConditionValueError as exc:
        problems.append(f"{path}.value: {name!r} {exc}, not {value!r}")
        return None
    if spec.type == "choice" and spec.choices and op in {"eq", "ne", "in"}:
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in spec.choices and v not in ("", None)]
        if bad:
            problems.append(
                f"{path}.value: {bad[0]!r} is not a choice of {name!r} ({', '.join(spec.choices)})"
            )
            return None
    cleaned = {"field": name, "op": op}
    if "value" in node:
        cleaned["value"] = value
    return cleaned
