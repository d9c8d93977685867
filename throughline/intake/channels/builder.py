"""The form builder's writes (staff): forms, their fields, versioned consent wordings.

Every write is one transaction with an audit entry. A consent field's wording is never edited
in place: a changed text is a new ``ConsentWording`` version, so a person's recorded consent
always points at the exact words they agreed to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.crm.models import CustomFieldDefinition
from throughline.intake.channels.models import LEAD_TARGETS, ConsentWording, FormField, IntakeForm

FORM_FIELDS = [
    "slug",
    "name",
    "title",
    "intro",
    "submit_label",
    "source_slug",
    "thank_you_text",
    "redirect_url",
    "allowed_origins",
    "min_fill_seconds",
    "submissions_per_hour",
    "is_active",
]
FIELD_FIELDS = [
    "key",
    "label",
    "kind",
    "required",
    "help_text",
    "placeholder",
    "choices",
    "maps_to",
    "consent_purpose",
]
RESERVED_KEYS = {"_token", "fax_number", "utm", "csrfmiddlewaretoken"}

# A new form starts with the fields almost every inquiry needs.
STARTER_FIELDS = [
    {"key": "full_name", "label": "Your name", "kind": "text", "required": True},
    {"key": "email", "label": "E-mail", "kind": "email", "required": True},
    {"key": "phone", "label": "Phone", "kind": "phone"},
    {"key": "company", "label": "Company", "kind": "text"},
    {"key": "message", "label": "How can we help?", "kind": "textarea", "required": True},
]


def normalize_origins(value: Any) -> list[str]:
    """``["https://www.example.com", …]`` from a list or a text with one origin per line."""
    if isinstance(value, str):
        value = value.replace(",", "\n").split()
    if not isinstance(value, list):
        raise ValidationError({"allowed_origins": "Give one origin per line."})
    origins = []
    for item in value:
        text = str(item).strip().rstrip("/")
        if not text:
            continue
        parsed = urlparse(text)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname or parsed.path:
            raise ValidationError(
                {"allowed_origins": f"{text[:80]!r} is not an origin like https://www.example.com."}
            )
        origins.append(f"{parsed.scheme}://{parsed.netloc}".lower())
    return sorted(set(origins))


def _clean_form(data: dict[str, Any]) -> dict[str, Any]:
    if "allowed_origins" in data:
        data["allowed_origins"] = normalize_origins(data["allowed_origins"])
    url = data.get("redirect_url") or ""
    if url and urlparse(url).scheme not in {"http", "https"}:
        raise ValidationError({"redirect_url": "Use an http(s) address."})
    return data


@transaction.atomic
def create_form(actor: Actor, *, starter_fields: bool = True, **data: Any) -> IntakeForm:
    data = _clean_form({k: v for k, v in data.items() if k in FORM_FIELDS})
    if IntakeForm.objects.filter(slug=data.get("slug")).exists():
        raise ValidationError({"slug": "Another form has this address."})
    intake_form = IntakeForm(created_by=actor.user, **data)
    intake_form.full_clean()
    intake_form.save()
    audit_log.record(
        actor,
        "intake_form.created",
        intake_form,
        changes=audit_log.diff({}, audit_log.snapshot(intake_form)),
    )
    if starter_fields:
        for spec in STARTER_FIELDS:
            save_field(actor, intake_form, None, **spec)
    return intake_form


@transaction.atomic
def update_form(actor: Actor, intake_form: IntakeForm, **data: Any) -> IntakeForm:
    data = _clean_form({k: v for k, v in data.items() if k in FORM_FIELDS})
    intake_form = IntakeForm.objects.select_for_update().get(pk=intake_form.pk)
    if (
        "slug" in data
        and IntakeForm.objects.filter(slug=data["slug"]).exclude(pk=intake_form.pk).exists()
    ):
        raise ValidationError({"slug": "Another form has this address."})
    before = audit_log.snapshot(intake_form)
    for name, value in data.items():
        setattr(intake_form, name, value)
    intake_form.full_clean()
    intake_form.save()
    changes = audit_log.diff(before, audit_log.snapshot(intake_form))
    if changes:
        audit_log.record(actor, "intake_form.updated", intake_form, changes=changes)
    return intake_form


def _clean_field(intake_form: IntakeForm, field: FormField | None, data: dict[str, Any]) -> dict:
    errors: dict[str, str] = {}
    key = data.get("key", field.key if field else "")
    if key in RESERVED_KEYS:
        errors["key"] = f"{key!r} is used by the form itself; choose another name."
    others = intake_form.fields.filter(key=key)
    if field is not None:
        others = others.exclude(pk=field.pk)
    if key and others.exists():
        errors["key"] = "Another field of this form has this name."
    kind = data.get("kind", field.kind if field else FormField.Kind.TEXT)
    choices = data.get("choices", field.choices if field else [])
    if isinstance(choices, str):
        choices = [line.strip() for line in choices.splitlines() if line.strip()]
    data["choices"] = choices if kind == FormField.Kind.CHOICE else []
    if kind == FormField.Kind.CHOICE and not data["choices"]:
        errors["choices"] = "A choice needs at least one option (one per line)."
    maps_to = (data.get("maps_to", field.maps_to if field else "") or "").strip()
    if maps_to and maps_to not in LEAD_TARGETS:
        custom_key = maps_to.removeprefix("custom.")
        if not (
            maps_to.startswith("custom.")
            and CustomFieldDefinition.objects.filter(entity="lead", key=custom_key).exists()
        ):
            errors["maps_to"] = "Choose a lead field or a lead custom field."
    data["maps_to"] = maps_to
    if kind == FormField.Kind.CONSENT:
        data["maps_to"] = ""
        purpose = (data.get("consent_purpose") or (field.consent_purpose if field else "")).strip()
        data["consent_purpose"] = purpose or "marketing"
        if not (data.get("label") or (field.label if field else "")).strip():
            errors["label"] = "Write the consent wording people agree to."
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def save_field(
    actor: Actor, intake_form: IntakeForm, field: FormField | None, **data: Any
) -> FormField:
    """Add (``field`` None) or change a field; a consent text change adds a wording version."""
    data = _clean_field(intake_form, field, {k: v for k, v in data.items() if k in FIELD_FIELDS})
    creating = field is None
    if creating:
        position = (intake_form.fields.aggregate(m=Max("position"))["m"] or 0) + 1
        field = FormField(form=intake_form, position=position)
        before: dict[str, Any] = {}
    else:
        field = FormField.objects.select_for_update().get(pk=field.pk)
        before = audit_log.snapshot(field)
    for name, value in data.items():
        setattr(field, name, value)
    field.full_clean(exclude=["form"])
    field.save()
    changes = audit_log.diff(before, audit_log.snapshot(field))
    if field.kind == FormField.Kind.CONSENT:
        current = field.current_wording()
        if current is None or current.text != field.label:
            wording = ConsentWording.objects.create(
                field=field,
                version=(current.version + 1) if current else 1,
                text=field.label,
                created_by=actor.user,
            )
            changes["consent_wording"] = [current.code if current else None, wording.code]
    if changes:
        action = "intake_form.field_added" if creating else "intake_form.field_changed"
        audit_log.record(
            actor, action, intake_form, changes={"field": [None, field.key], **changes}
        )
    return field


@transaction.atomic
def delete_field(actor: Actor, field: FormField) -> None:
    intake_form = field.form
    key = field.key
    # Consent wordings stay referenced by consent records (as text): deleting is safe.
    field.delete()
    audit_log.record(
        actor, "intake_form.field_removed", intake_form, changes={"field": [key, None]}
    )


@transaction.atomic
def move_field(actor: Actor, field: FormField, direction: int) -> None:
    """Swap a field with its neighbour (``direction`` -1 up, +1 down)."""
    fields = list(field.form.fields.select_for_update().order_by("position", "id"))
    index = next(i for i, f in enumerate(fields) if f.pk == field.pk)
    other = index + direction
    if not 0 <= other < len(fields):
        return
    fields[index], fields[other] = fields[other], fields[index]
    for position, f in enumerate(fields, start=1):
        if f.position != position:
            f.position = position
            f.save(update_fields=["position"])
    audit_log.record(
        actor,
        "intake_form.field_moved",
        field.form,
        changes={"order": [None, [f.key for f in fields]]},
    )
