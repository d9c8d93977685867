"""Write paths of custom field definitions (the organization's own typed fields).

A definition's ``entity`` and ``key`` are fixed once created: the key is the stable name used
by the API, imports and stored values, so renaming it would orphan every value.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.crm.models import CustomFieldDefinition

Kind = CustomFieldDefinition.Kind
Entity = CustomFieldDefinition.Entity
EDITABLE_FIELDS = ("label", "kind", "choices", "required", "position")


def _clean_choices(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        raise ValidationError({"choices": "Give the choices as a list, one per line."})
    cleaned: list[str] = []
    for item in value:
        text = str(item).strip()
        if text and text not in cleaned:
            cleaned.append(text)
    return cleaned


def _clean(data: dict[str, Any], instance: CustomFieldDefinition | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if instance is None:
        entity = data.get("entity", "")
        if entity not in Entity.values:
            errors["entity"] = f"Choose one of: {', '.join(Entity.values)}."
        key = (data.get("key") or "").strip().lower()
        try:
            validate_slug(key)
        except ValidationError:
            errors["key"] = "Use letters, numbers, hyphens or underscores."
        else:
            if len(key) > 50:
                errors["key"] = "At most 50 characters."
            elif CustomFieldDefinition.objects.filter(entity=entity, key=key).exists():
                errors["key"] = "This record type already has a field with this key."
        cleaned["entity"], cleaned["key"] = entity, key
    else:
        for frozen in ("entity", "key"):
            if frozen in data and data[frozen] != getattr(instance, frozen):
                errors[frozen] = "Cannot be changed once the field exists."
    unknown = set(data) - set(EDITABLE_FIELDS) - {"entity", "key"}
    for key in sorted(unknown):
        errors[key] = "Unknown attribute."
    if "label" in data or instance is None:
        label = (data.get("label") or "").strip()
        if not label:
            errors["label"] = "Give the field a label."
        elif len(label) > 100:
            errors["label"] = "At most 100 characters."
        cleaned["label"] = label
    if "kind" in data or instance is None:
        kind = data.get("kind") or Kind.TEXT
        if kind not in Kind.values:
            errors["kind"] = f"Choose one of: {', '.join(Kind.values)}."
        cleaned["kind"] = kind
    if "choices" in data:
        try:
            cleaned["choices"] = _clean_choices(data["choices"])
        except ValidationError as exc:
            errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
    if "required" in data:
        cleaned["required"] = bool(data["required"])
    if "position" in data:
        try:
            cleaned["position"] = max(0, min(32767, int(data["position"] or 0)))
        except (TypeError, ValueError):
            errors["position"] = "Must be a whole number."
    kind = cleaned.get("kind", instance.kind if instance else Kind.TEXT)
    choices = cleaned.get("choices", instance.choices if instance else [])
    if kind == Kind.CHOICE and not choices and "choices" not in errors:
        errors["choices"] = "A choice field needs at least one choice."
    if kind != Kind.CHOICE:
        cleaned["choices"] = []
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def create_custom_field(actor: Actor, **data: Any) -> CustomFieldDefinition:
    cleaned = _clean(data, None)
    definition = CustomFieldDefinition.objects.create(**cleaned)
    audit_log.record(
        actor,
        "custom_field.created",
        definition,
        changes=audit_log.diff({}, audit_log.snapshot(definition)),
    )
    return definition


@transaction.atomic
def update_custom_field(
    actor: Actor, definition: CustomFieldDefinition, **data: Any
) -> CustomFieldDefinition:
    definition = CustomFieldDefinition.objects.select_for_update().get(pk=definition.pk)
    cleaned = _clean(data, definition)
    before = audit_log.snapshot(definition)
    for key, value in cleaned.items():
        setattr(definition, key, value)
    changes = audit_log.diff(before, audit_log.snapshot(definition))
    if changes:
        definition.save(update_fields=sorted(changes))
        audit_log.record(actor, "custom_field.updated", definition, changes=changes)
    return definition


@transaction.atomic
def delete_custom_field(actor: Actor, definition: CustomFieldDefinition) -> None:
    """Remove a definition. Values already stored on records stay in their JSON, unshown."""
    definition = CustomFieldDefinition.objects.select_for_update().get(pk=definition.pk)
    before = audit_log.snapshot(definition)
    audit_log.record(
        actor,
        "custom_field.deleted",
        definition,
        changes=audit_log.diff(before, {}),
    )
    definition.delete()
