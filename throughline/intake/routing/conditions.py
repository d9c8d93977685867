"""What a rule can test about a lead, how it is checked, and how a rule is validated.

A lead's *facts* are plain values derived once per routing: ``source`` (slug), ``channel``,
``country`` (ISO 3166 alpha-2, from the lead's ``country`` answer or its phone number),
``language`` (two letters, from a ``language`` answer), ``service_line``,
``estimated_value`` (a number, from an ``estimated_value`` or ``budget`` answer),
``email_domain``, ``utm_source`` and every custom answer as ``custom.<key>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError

FIELDS: dict[str, str] = {
    "source": "Lead source (slug)",
    "channel": "Channel (form, api, webhook, email, call, import, manual, referral)",
    "country": "Country (ISO code, from the answer or the phone number)",
    "language": "Language (two letters)",
    "service_line": "Service line",
    "estimated_value": "Estimated value (number)",
    "email_domain": "E-mail domain",
    "utm_source": "UTM source",
}
NUMERIC_FIELDS = {"estimated_value"}
OPERATORS: dict[str, str] = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "contains": "contains",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "exists": "is given",
}
LIST_OPS = {"in", "not_in"}
NUMBER_OPS = {"gt", "gte", "lt", "lte"}
CUSTOM_KEY = re.compile(r"^custom\.[A-Za-z0-9_-]{1,50}$")
MAX_CONDITIONS = 20


def to_number(value: Any) -> Decimal | None:
    """ "5000", "5,000", "EUR 5 000.50", 5000 → Decimal; anything else → None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    text = re.sub(r"[^0-9.\-]", "", str(value).replace(",", ""))
    if not text:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def country_of(custom: dict, phone: str, default_region: str) -> str:
    answer = str(custom.get("country") or "").strip().upper()
    if len(answer) == 2 and answer.isalpha():
        return answer
    if phone:
        try:
            number = phonenumbers.parse(phone, default_region or None)
        except phonenumbers.NumberParseException:
            return ""
        return phonenumbers.region_code_for_number(number) or ""
    return ""


def build_facts(
    *,
    source: str,
    channel: str,
    phone: str,
    email: str,
    custom: dict | None,
    utm: dict | None,
    default_region: str,
) -> dict[str, Any]:
    custom = custom if isinstance(custom, dict) else {}
    utm = utm if isinstance(utm, dict) else {}
    language = str(custom.get("language") or custom.get("lang") or "").strip().lower()[:2]
    value = custom.get("estimated_value", custom.get("budget"))
    facts: dict[str, Any] = {
        "source": source or "",
        "channel": channel or "",
        "country": country_of(custom, phone, default_region),
        "language": language,
        "service_line": str(custom.get("service_line") or "").strip(),
        "estimated_value": to_number(value),
        "email_domain": email.rsplit("@", 1)[-1].lower() if "@" in (email or "") else "",
        "utm_source": str(utm.get("utm_source") or "").strip(),
    }
    for key, answer in custom.items():
        facts[f"custom.{key}"] = answer
    return facts


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any = None

    def holds(self, facts: dict[str, Any]) -> bool:
        actual = facts.get(self.field)
        if self.op == "exists":
            return actual not in (None, "", [], {})
        if self.op in NUMBER_OPS:
            number, limit = to_number(actual), to_number(self.value)
            if number is None or limit is None:
                return False
            return {
                "gt": number > limit,
                "gte": number >= limit,
                "lt": number < limit,
                "lte": number <= limit,
            }[self.op]
        text = _text(actual)
        if self.op == "eq":
            return text == _text(self.value)
        if self.op == "ne":
            return text != _text(self.value)
        if self.op == "contains":
            return bool(text) and _text(self.value) in text
        wanted = {_text(v) for v in self.value or []}
        if self.op == "in":
            return text in wanted
        return text not in wanted  # not_in


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value).strip().lower()


def matches(conditions: list[dict], facts: dict[str, Any]) -> bool:
    return all(Condition(**c).holds(facts) for c in conditions)


def describe(condition: dict) -> str:
    value = condition.get("value")
    shown = (
        ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else value)
    )
    return f"{condition['field']} {OPERATORS.get(condition['op'], condition['op'])} {shown}".strip()


def clean_conditions(raw: Any, *, known_sources: set[str] | None = None) -> list[dict]:
    """Validated conditions, or ``ValidationError`` naming each bad one and why."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError({"conditions": "Conditions must be a list."})
    if len(raw) > MAX_CONDITIONS:
        raise ValidationError({"conditions": f"At most {MAX_CONDITIONS} conditions per rule."})
    errors: list[str] = []
    cleaned: list[dict] = []
    for index, item in enumerate(raw, start=1):
        where = f"Condition {index}"
        if not isinstance(item, dict):
            errors.append(f"{where}: give field, operator and value.")
            continue
        field = str(item.get("field") or "").strip()
        op = str(item.get("op") or "").strip()
        value = item.get("value")
        if field not in FIELDS and not CUSTOM_KEY.match(field):
            errors.append(
                f"{where}: unknown field {field!r} (use one of {', '.join(FIELDS)} or custom.<key>)."
            )
            continue
        if op not in OPERATORS:
            errors.append(f"{where}: unknown operator {op!r}.")
            continue
        if op == "exists":
            cleaned.append({"field": field, "op": op, "value": None})
            continue
        if op in NUMBER_OPS:
            if field not in NUMERIC_FIELDS and not field.startswith("custom."):
                errors.append(f"{where}: {field} is not a number; “{OPERATORS[op]}” needs one.")
                continue
            number = to_number(value)
            if number is None:
                errors.append(f"{where}: {OPERATORS[op]} needs a number, not {value!r}.")
                continue
            cleaned.append({"field": field, "op": op, "value": str(number)})
            continue
        if op in LIST_OPS:
            if isinstance(value, str):
                value = [v for v in (p.strip() for p in value.split(",")) if v]
            if (
                not isinstance(value, list)
                or not value
                or not all(isinstance(v, str | int | float) and str(v).strip() for v in value)
            ):
                errors.append(f"{where}: {OPERATORS[op]} needs a list of values.")
                continue
            values = [str(v).strip() for v in value]
        else:
            if isinstance(value, list | dict) or value is None or not str(value).strip():
                errors.append(f"{where}: give a value.")
                continue
            values = [str(value).strip()]
        if field == "country":
            bad = [v for v in values if not (len(v) == 2 and v.isalpha())]
            if bad:
                errors.append(f"{where}: {bad[0]!r} is not a two-letter country code.")
                continue
            values = [v.upper() for v in values]
        if field == "source" and known_sources is not None and op != "contains":
            unknown = [v for v in values if v not in known_sources]
            if unknown:
                errors.append(f"{where}: there is no lead source {unknown[0]!r}.")
                continue
        cleaned.append({"field": field, "op": op, "value": values if op in LIST_OPS else values[0]})
    if errors:
        raise ValidationError({"conditions": errors})
    return cleaned
