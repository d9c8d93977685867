"""Conditions over a lead's fields and answers, shared by rubric criteria and fit rules.

A condition is ``(field, operator, value)``. Fields are the lead's own (``source``,
``country``, ``message_length`` …), its UTM parameters (``utm.utm_campaign``) and the answers
to the organization's lead custom fields (``custom.budget``). ``validate`` refuses what could
never be evaluated (unknown field, non-numeric bound, missing value) with the reason;
``matches`` evaluates one against a lead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError

from throughline.crm.models import CustomFieldDefinition
from throughline.intake.models import Lead
from throughline.intake.scoring.models import Operator


def _country(lead: Lead) -> str:
    if not lead.phone:
        return ""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(lead.phone)) or ""
    except phonenumbers.NumberParseException:
        return ""


@dataclass(frozen=True)
class LeadField:
    label: str
    get: Callable[[Lead], Any]
    numeric: bool = False


FIELDS: dict[str, LeadField] = {
    "source": LeadField("Source (slug)", lambda lead: lead.source.slug),
    "channel": LeadField("Channel", lambda lead: lead.channel),
    "country": LeadField("Country (from the phone number)", _country),
    "company_name": LeadField("Company name", lambda lead: lead.company_name),
    "has_company": LeadField(
        "Company given", lambda lead: bool(lead.company_id or lead.company_name)
    ),
    "title": LeadField("Job title", lambda lead: lead.title),
    "message": LeadField("Message", lambda lead: lead.message),
    "message_length": LeadField("Message length", lambda lead: len(lead.message), True),
    "email_domain": LeadField(
        "E-mail domain", lambda lead: lead.email.rpartition("@")[2].lower() if lead.email else ""
    ),
    "website": LeadField("Website", lambda lead: lead.website),
    "has_phone": LeadField("Phone given", lambda lead: bool(lead.phone)),
}
_UTM = re.compile(r"^utm\.[a-z0-9_]{1,50}$")
_CUSTOM = re.compile(r"^custom\.[-a-z0-9_]{1,50}$")
# "5000, 20000", "5000..20000", "5000 - 20000", "5000–20000", "5000 to 20000"
_RANGE = re.compile(r"\s*(-?[\d.]+)\s*(?:,|\.\.|-|–|to)\s*(-?[\d.]+)\s*")
NEEDS_NO_VALUE = {Operator.PRESENT, Operator.ABSENT}
NUMERIC = {Operator.GTE, Operator.LTE, Operator.BETWEEN}


def field_choices() -> list[tuple[str, str]]:
    """Every field a condition may name, for the settings forms."""
    choices = [(key, f.label) for key, f in FIELDS.items()]
    for definition in CustomFieldDefinition.objects.filter(entity="lead"):
        choices.append((f"custom.{definition.key}", f"Answer: {definition.label}"))
    return choices


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def field_is_numeric(field: str) -> bool:
    if field in FIELDS:
        return FIELDS[field].numeric
    if field.startswith("custom."):
        return CustomFieldDefinition.objects.filter(
            entity="lead", key=field.removeprefix("custom."), kind="number"
        ).exists()
    return False


def validate(field: str, operator: str, value: Any) -> Any:
    """The cleaned value, or ``ValidationError`` saying why the condition is refused."""
    field = (field or "").strip()
    if not field:
        raise ValidationError({"field": "Choose the field this condition looks at."})
    if field not in FIELDS and not _UTM.match(field):
        if not _CUSTOM.match(field):
            raise ValidationError({"field": f"Unknown field “{field}”."})
        key = field.removeprefix("custom.")
        if not CustomFieldDefinition.objects.filter(entity="lead", key=key).exists():
            raise ValidationError({"field": f"No lead custom field “{key}”."})
    if operator not in Operator.values:
        raise ValidationError({"operator": f"Unknown operator “{operator}”."})
    if operator in NEEDS_NO_VALUE:
        return None
    if isinstance(value, str):
        value = value.strip()
    if value in (None, "", []):
        raise ValidationError({"value": f"“{Operator(operator).label}” needs a value."})
    if operator == Operator.BETWEEN:
        if isinstance(value, str):
            pair = _RANGE.fullmatch(value)
            value = [pair[1], pair[2]] if pair else [value]
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise ValidationError({"value": "Give two numbers: the lowest and the highest."})
        low, high = _number(value[0]), _number(value[1])
        if low is None or high is None:
            raise ValidationError({"value": "Both bounds must be numbers."})
        if low > high:
            raise ValidationError({"value": "The lowest bound is above the highest."})
        return [str(low), str(high)]
    if operator in NUMERIC:
        number = _number(value)
        if number is None:
            raise ValidationError({"value": f"“{value}” is not a number."})
        return str(number)
    if operator in {Operator.IN, Operator.NOT_IN}:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if not isinstance(value, list | tuple):
            raise ValidationError({"value": "Give a list of values (comma-separated)."})
        items = [str(v).strip() for v in value if str(v).strip()]
        if not items:
            raise ValidationError({"value": "Give at least one value."})
        return items[:50]
    if isinstance(value, dict | list):
        raise ValidationError({"value": "Give one value."})
    return str(value)[:200]


def value_of(lead: Lead, field: str) -> Any:
    if field in FIELDS:
        return FIELDS[field].get(lead)
    if field.startswith("utm."):
        return (lead.utm or {}).get(field.removeprefix("utm."))
    if field.startswith("custom."):
        return (lead.custom or {}).get(field.removeprefix("custom."))
    return None


def _same(actual: Any, expected: str) -> bool:
    if isinstance(actual, bool):
        return actual == (expected.lower() in {"true", "yes", "1", "y"})
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return left == right
    return str(actual if actual is not None else "").strip().lower() == expected.lower()


def matches(lead: Lead, field: str, operator: str, value: Any) -> bool:
    actual = value_of(lead, field)
    given = actual not in (None, "", [], False)
    if operator == Operator.PRESENT:
        return given
    if operator == Operator.ABSENT:
        return not given
    if operator == Operator.EQ:
        return _same(actual, value)
    if operator == Operator.NE:
        return not _same(actual, value)
    if operator == Operator.IN:
        return any(_same(actual, v) for v in value)
    if operator == Operator.NOT_IN:
        return not any(_same(actual, v) for v in value)
    if operator == Operator.CONTAINS:
        return str(value).lower() in str(actual or "").lower()
    number = _number(actual)
    if number is None:
        return False
    if operator == Operator.GTE:
        return number >= Decimal(value)
    if operator == Operator.LTE:
        return number <= Decimal(value)
    if operator == Operator.BETWEEN:
        return Decimal(value[0]) <= number <= Decimal(value[1])
    return False


def describe(field: str, operator: str, value: Any) -> str:
    """Plain words: "Budget is between 5000 and 20000"."""
    name = FIELDS[field].label if field in FIELDS else field.split(".", 1)[-1].replace("_", " ")
    if field.startswith("custom."):
        definition = CustomFieldDefinition.objects.filter(
            entity="lead", key=field.removeprefix("custom.")
        ).first()
        name = definition.label if definition else name
    label = Operator(operator).label if operator in Operator.values else operator
    if operator in NEEDS_NO_VALUE:
        return f"{name} {label}"
    if operator == Operator.BETWEEN and isinstance(value, list) and len(value) == 2:
        return f"{name} {label} {value[0]} and {value[1]}"
    if isinstance(value, list):
        return f"{name} {label} {', '.join(map(str, value))}"
    return f"{name} {label} {value}"
