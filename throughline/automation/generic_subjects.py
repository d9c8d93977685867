"""Plain subjects for the records of apps that have not registered their own yet.

A workflow about a deal or an invoice needs the record's fields for its conditions and its
contact for e-mail. Until ``sales``, ``billing`` … register a richer ``SubjectType`` (with
setters through their services), this derives a read-only one from the model: its plain
fields, its ``contact`` and ``owner`` foreign keys. Only the models listed here, and never
fields that look like secrets.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from throughline.automation.registry import FieldSpec, SubjectType, register_subject, subject_type

CANDIDATES = {
    "intake.lead": "Lead",
    "sales.deal": "Deal",
    "sales.proposal": "Proposal",
    "signing.signingrequest": "Signing request",
    "delivery.project": "Project",
    "billing.invoice": "Invoice",
}
SECRET_HINTS = ("password", "secret", "token", "hash", "key", "signature", "iban")


def _field_type(field: models.Field) -> str | None:
    if field.choices:
        return "choice"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.IntegerField | models.DecimalField | models.FloatField):
        return "number"
    if isinstance(field, models.CharField | models.TextField | models.EmailField):
        return "text"
    return None


def _fk(name: str):
    return lambda obj: getattr(obj, name, None)


def derive(key: str, label: str, model: type[models.Model]) -> SubjectType:
    from throughline.crm.models import Contact

    fields: dict[str, FieldSpec] = {}
    contact_field = owner_field = None
    for field in model._meta.concrete_fields:
        if any(hint in field.name for hint in SECRET_HINTS):
            continue
        if isinstance(field, models.ForeignKey):
            if field.related_model is Contact and contact_field is None:
                contact_field = field.name
            if field.name == "owner":
                owner_field = field.name
                fields["owner"] = FieldSpec(
                    "owner", "user", "Owner", getter=lambda o: o.owner.email if o.owner else ""
                )
            continue
        type_ = _field_type(field)
        if type_ is None or field.primary_key:
            continue
        choices = tuple(str(value) for value, _ in field.choices or ())
        fields[field.name] = FieldSpec(
            field.name, type_, str(field.verbose_name).capitalize(), choices
        )
    return SubjectType(
        key=key,
        label=label,
        model=model,
        fields=fields,
        contact_of=_fk(contact_field) if contact_field else None,
        owner_of=_fk(owner_field) if owner_field else None,
    )


def register_missing() -> list[str]:
    """Register a derived subject for each candidate model that exists and has none."""
    added = []
    for key, label in CANDIDATES.items():
        if subject_type(key) is not None:
            continue
        app_label, model_name = key.split(".")
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        register_subject(derive(key, label, model))
        added.append(key)
    return added
