"""Validation of custom field values against the organization's typed definitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError

from throughline.core.lookup_cache import cached_config
from throughline.crm.models import CustomFieldDefinition

Kind = CustomFieldDefinition.Kind


def definitions(entity: str) -> list[CustomFieldDefinition]:
    return cached_config("crm.custom_fields", _definitions_by_entity).get(entity, [])


def _definitions_by_entity() -> dict[str, list[CustomFieldDefinition]]:
    """Every entity's definitions in one read: capturing a lead validates its contact's too."""
    grouped: dict[str, list[CustomFieldDefinition]] = {}
    for defn in CustomFieldDefinition.objects.all():
        grouped.setdefault(defn.entity, []).append(defn)
    return grouped


def _coerce(defn: CustomFieldDefinition, value: Any) -> Any:
    if defn.kind == Kind.TEXT:
        if not isinstance(value, str):
            raise ValidationError("Must be text.")
        if len(value) > 2000:
            raise ValidationError("At most 2000 characters.")
        return value
    if defn.kind == Kind.NUMBER:
        if isinstance(value, bool):
            raise ValidationError("Must be a number.")
        try:
            number = Decimal(str(value))
        except InvalidOperation as exc:
            raise ValidationError("Must be a number.") from exc
        if not number.is_finite():
            raise ValidationError("Must be a finite number.")
        return str(number)
    if defn.kind == Kind.DATE:
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError as exc:
            raise ValidationError("Must be a date (YYYY-MM-DD).") from exc
    if defn.kind == Kind.CHOICE:
        if value not in (defn.choices or []):
            raise ValidationError(f"Must be one of: {', '.join(map(str, defn.choices))}.")
        return value
    if defn.kind == Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {
            "true",
            "false",
            "yes",
            "no",
            "1",
            "0",
            "on",
        }:
            return value.lower() in {"true", "yes", "1", "on"}
        raise ValidationError("Must be true or false.")
    raise ValidationError(f"Unknown field kind {defn.kind}.")


def validate_custom(entity: str, values: dict[str, Any] | None, *, partial: bool = False) -> dict:
    """Return cleaned values, or raise ValidationError({"custom.<key>": msg, …})."""
    values = values or {}
    if not isinstance(values, dict):
        raise ValidationError({"custom": "Custom fields must be an object of key → value."})
    defs = {d.key: d for d in definitions(entity)}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        defn = defs.get(key)
        if defn is None:
            errors[f"custom.{key}"] = "Unknown custom field."
            continue
        if value in (None, ""):
            if defn.required:
                errors[f"custom.{key}"] = "This field is required."
            else:
                cleaned[key] = None  # an explicit empty value clears the field
            continue
        try:
            cleaned[key] = _coerce(defn, value)
        except ValidationError as exc:
            errors[f"custom.{key}"] = " ".join(exc.messages)
    if not partial:
        for key, defn in defs.items():
            if defn.required and key not in cleaned and f"custom.{key}" not in errors:
                errors[f"custom.{key}"] = "This field is required."
    if errors:
        raise ValidationError(errors)
    return cleaned
