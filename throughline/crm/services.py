"""Every CRM write: one transaction, validation, an audit entry and a domain event.

Views, the API, the CLI, imports and tasks all call these; nothing else saves CRM records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.crm.custom_fields import validate_custom
from throughline.crm.models import Activity, Company, ConsentRecord, Contact, Tag, Task
from throughline.crm.normalize import clean_name, normalize_email, normalize_phone, website_domain

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "title", "company", "owner", "notes")
COMPANY_FIELDS = ("name", "website", "phone", "address", "country", "vat_id", "owner")


def _clean_contact_fields(
    data: dict[str, Any], instance: Contact | None, *, email_checked: bool = False
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    region = Organization.current().default_phone_region
    for key in ("first_name", "last_name"):
        if key in data:
            cleaned[key] = clean_name(data[key] or "")
    if "email" in data:
        try:
            cleaned["email"], cleaned["email_normalized"] = normalize_email(data["email"] or "")
        except ValidationError as exc:
            errors["email"] = " ".join(exc.messages)
    if "phone" in data:
        try:
            cleaned["phone"] = normalize_phone(data["phone"] or "", region)
        except ValidationError as exc:
            errors["phone"] = " ".join(exc.messages)
    for key in ("title", "notes"):
        if key in data:
            cleaned[key] = (data[key] or "").strip()
    for key in ("company", "owner"):
        if key in data:
            cleaned[key] = data[key]
    merged = {
        "first_name": cleaned.get("first_name", instance.first_name if instance else ""),
        "last_name": cleaned.get("last_name", instance.last_name if instance else ""),
        "email": cleaned.get("email", instance.email if instance else ""),
        "phone": cleaned.get("phone", instance.phone if instance else ""),
    }
    if not errors and not any(merged.values()):
        errors["__all__"] = "Give at least a name, an e-mail address or a phone number."
    email_norm = cleaned.get("email_normalized")
    if email_norm and "email" not in errors and not email_checked:
        clash = Contact.objects.filter(email_normalized=email_norm)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            errors["email"] = "Another contact already has this e-mail address."
    if "custom" in data:
        try:
            cleaned["custom"] = validate_custom(
                "contact", data["custom"], partial=instance is not None
            )
        except ValidationError as exc:
            errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
    elif instance is None:
        try:
            validate_custom("contact", {}, partial=False)
        except ValidationError as exc:
            errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return cleaned


def _apply(instance, cleaned: dict[str, Any]) -> dict[str, list[Any]]:
    before = audit_log.snapshot(instance)
    for key, value in cleaned.items():
        if key == "custom":
            merged = {**(instance.custom or {}), **value}
            value = {k: v for k, v in merged.items() if v is not None}
        setattr(instance, key, value)
    return audit_log.diff(before, audit_log.snapshot(instance))


def _set_tags(instance, names: list[str] | None) -> None:
    if names is None:
        return
    tags = []
    for name in {n.strip() for n in names if n and n.strip()}:
        tag, _ = Tag.objects.get_or_create(name=name[:50])
        tags.append(tag)
    instance.tags.set(tags)


def build_contact(actor: Actor, *, email_checked: bool = False, **data: Any) -> Contact:
    """A validated, unsaved contact (``create_contact``, and bulk imports that insert many).

    ``email_checked``: the caller has made sure no contact has this e-mail (bulk imports
    look all of a batch's addresses up at once, under their locks).
    """
    contact = Contact()
    _apply(contact, _clean_contact_fields(data, None, email_checked=email_checked))
    if contact.owner_id is None and actor.user is not None:
        contact.owner = actor.user
    return contact


@transaction.atomic
def create_contact(actor: Actor, **data: Any) -> Contact:
    tags = data.pop("tags", None)
    contact = build_contact(actor, **data)
    try:
        # No savepoint of its own: nothing follows a failed insert, and this function's
        # atomic block rolls it back (to its savepoint when called inside a transaction).
        contact.save(force_insert=True)
    except IntegrityError as exc:
        raise ValidationError(
            {"email": "Another contact already has this e-mail address."}
        ) from exc
    _set_tags(contact, tags)
    changes = audit_log.diff({}, audit_log.snapshot(contact))
    audit_log.record(actor, "contact.created", contact, changes=changes)
    events.emit(actor, "contact.created", contact)
    return contact


@transaction.atomic
def update_contact(actor: Actor, contact: Contact, **data: Any) -> Contact:
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    tags = data.pop("tags", None)
    cleaned = _clean_contact_fields(data, contact)
    changes = _apply(contact, cleaned)
    if tags is not None:
        old = sorted(contact.tags.values_list("name", flat=True))
        _set_tags(contact, tags)
        new = sorted(contact.tags.values_list("name", flat=True))
        if old != new:
            changes["tags"] = [old, new]
    if not changes:
        return contact
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"email": "Another contact already has this e-mail address."}
        ) from exc
    audit_log.record(actor, "contact.updated", contact, changes=changes)
    events.emit(actor, "contact.updated", contact, fields=sorted(changes))
    return contact


@transaction.atomic
def delete_contact(actor: Actor, contact: Contact) -> None:
    snapshot = audit_log.snapshot(contact)
    audit_log.record(
        actor, "contact.deleted", contact, changes={k: [v, None] for k, v in snapshot.items()}
    )
    contact.delete()


def _clean_company_fields(data: dict[str, Any], instance: Company | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    if "name" in data:
        cleaned["name"] = " ".join((data["name"] or "").split())
        if not cleaned["name"]:
            errors["name"] = "A company needs a name."
    elif instance is None:
        errors["name"] = "A company needs a name."
    if "website" in data:
        cleaned["website"] = (data["website"] or "").strip()
        cleaned["domain"] = website_domain(cleaned["website"])
    if "phone" in data:
        try:
            cleaned["phone"] = normalize_phone(
                data["phone"] or "", Organization.current().default_phone_region
            )
        except ValidationError as exc:
            errors["phone"] = " ".join(exc.messages)
    for key in ("address", "vat_id"):
        if key in data:
            cleaned[key] = (data[key] or "").strip()
    if "country" in data:
        cleaned["country"] = (data["country"] or "").strip().upper()
        if cleaned["country"] and len(cleaned["country"]) != 2:
            errors["country"] = "Use the two-letter country code (ISO 3166)."
    if "owner" in data:
        cleaned["owner"] = data["owner"]
    if "custom" in data:
        try:
            cleaned["custom"] = validate_custom(
                "company", data["custom"], partial=instance is not None
            )
        except ValidationError as exc:
            errors.update({k: " ".join(v) for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    return cleaned


def build_company(actor: Actor, **data: Any) -> Company:
    """A validated, unsaved company (``create_company``, and bulk imports)."""
    company = Company()
    _apply(company, _clean_company_fields(data, None))
    if company.owner_id is None and actor.user is not None:
        company.owner = actor.user
    return company


@transaction.atomic
def create_company(actor: Actor, **data: Any) -> Company:
    tags = data.pop("tags", None)
    company = build_company(actor, **data)
    company.save(force_insert=True)
    _set_tags(company, tags)
    changes = audit_log.diff({}, audit_log.snapshot(company))
    audit_log.record(actor, "company.created", company, changes=changes)
    events.emit(actor, "company.created", company)
    return company


@transaction.atomic
def update_company(actor: Actor, company: Company, **data: Any) -> Company:
    company = Company.objects.select_for_update().get(pk=company.pk)
    tags = data.pop("tags", None)
    changes = _apply(company, _clean_company_fields(data, company))
    _set_tags(company, tags)
    if not changes:
        return company
    company.save()
    audit_log.record(actor, "company.updated", company, changes=changes)
    events.emit(actor, "company.updated", company, fields=sorted(changes))
    return company


@transaction.atomic
def delete_company(actor: Actor, company: Company) -> None:
    snapshot = audit_log.snapshot(company)
    audit_log.record(
        actor, "company.deleted", company, changes={k: [v, None] for k, v in snapshot.items()}
    )
    # History of the company's people stays (FKs are SET_NULL); what was filed only under the
    # company itself goes with it.
    company.activities.filter(contact__isnull=True).delete()
    company.tasks.filter(contact__isnull=True).delete()
    people = list(company.contacts.all())
    company_id = str(company.pk)
    company.delete()
    # Its people no longer work there: said like any other change of theirs (matching
    # re-indexes them, subscribers hear of it).
    for contact in people:
        contact.company = None
    audit_log.record_many(
        actor,
        [audit_log.Change("contact.updated", c, {"company": [company_id, None]}) for c in people],
    )
    events.emit_many(
        actor, [events.Occurrence("contact.updated", c, {"fields": ["company"]}) for c in people]
    )


@transaction.atomic
def log_activity(
    actor: Actor,
    *,
    kind: str,
    contact: Contact | None = None,
    company: Company | None = None,
    subject: str = "",
    body: str = "",
    occurred_at: dt.datetime | None = None,
    duration_seconds: int | None = None,
    direction: str = "",
    metadata: dict | None = None,
) -> Activity:
    errors = {}
    if kind not in Activity.Kind.values:
        errors["kind"] = f"Choose one of: {', '.join(Activity.Kind.values)}."
    if contact is None and company is None:
        errors["contact"] = "An activity belongs to a contact or a company."
    if not (subject or "").strip() and not (body or "").strip():
        errors["body"] = "Write something."
    if occurred_at is not None and timezone.is_naive(occurred_at):
        errors["occurred_at"] = "Give a time with its time zone."
    if errors:
        raise ValidationError(errors)
    activity = Activity.objects.create(
        kind=kind,
        contact=contact,
        company=company or (contact.company if contact else None),
        subject=(subject or "").strip()[:200],
        body=(body or "").strip(),
        occurred_at=occurred_at or timezone.now(),
        duration_seconds=duration_seconds,
        direction=direction,
        author=actor.user,
        metadata=metadata or {},
    )
    audit_log.record(
        actor, "activity.logged", activity, changes=audit_log.diff({}, audit_log.snapshot(activity))
    )
    events.emit(
        actor,
        "activity.logged",
        activity,
        kind=kind,
        contact_id=str(contact.pk) if contact else None,
    )
    return activity


@transaction.atomic
def create_task(
    actor: Actor,
    *,
    title: str,
    owner: User | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    due_at: dt.datetime | None = None,
    description: str = "",
    source: str = "",
) -> Task:
    errors = {}
    if not (title or "").strip():
        errors["title"] = "A task needs a title."
    if due_at is not None and timezone.is_naive(due_at):
        errors["due_at"] = "Give a time with its time zone."
    if owner is not None and not owner.is_active:
        errors["owner"] = "This user is deactivated."
    if errors:
        raise ValidationError(errors)
    task = Task.objects.create(
        title=title.strip()[:200],
        description=(description or "").strip(),
        owner=owner or actor.user,
        contact=contact,
        company=company or (contact.company if contact else None),
        due_at=due_at,
        source=source,
    )
    audit_log.record(
        actor, "task.created", task, changes=audit_log.diff({}, audit_log.snapshot(task))
    )
    events.emit(actor, "task.created", task, owner_id=str(task.owner_id) if task.owner_id else None)
    return task


@transaction.atomic
def update_task(actor: Actor, task: Task, **data: Any) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    errors = {}
    if "title" in data and not (data["title"] or "").strip():
        errors["title"] = "A task needs a title."
    if data.get("due_at") is not None and timezone.is_naive(data["due_at"]):
        errors["due_at"] = "Give a time with its time zone."
    if errors:
        raise ValidationError(errors)
    allowed = {
        k: v
        for k, v in data.items()
        if k in {"title", "description", "owner", "contact", "company", "due_at"}
    }
    changes = _apply(task, allowed)
    if changes:
        task.save()
        audit_log.record(actor, "task.updated", task, changes=changes)
    return task


@transaction.atomic
def complete_task(actor: Actor, task: Task, done: bool = True) -> Task:
    task = Task.objects.select_for_update().get(pk=task.pk)
    if task.is_done == done:
        return task
    before = task.done_at
    task.done_at = timezone.now() if done else None
    task.save(update_fields=["done_at", "updated_at"])
    audit_log.record(
        actor,
        "task.completed" if done else "task.reopened",
        task,
        changes={"done_at": [before, task.done_at]},
    )
    if done:
        events.emit(actor, "task.completed", task, source=task.source)
    return task


@transaction.atomic
def record_consent(
    actor: Actor,
    contact: Contact,
    *,
    purpose: str,
    granted: bool,
    wording_version: str,
    wording: str = "",
    source: str = "",
    ip: str | None = None,
) -> ConsentRecord:
    errors = {}
    if not (purpose or "").strip():
        errors["purpose"] = "Name the purpose (e.g. marketing)."
    if not (wording_version or "").strip():
        errors["wording_version"] = "Consent needs the version of the wording shown."
    if errors:
        raise ValidationError(errors)
    record = ConsentRecord.objects.create(
        contact=contact,
        purpose=purpose.strip(),
        granted=granted,
        wording=wording,
        wording_version=wording_version.strip(),
        source=source or actor.channel,
        ip=ip or actor.ip,
        recorded_at=timezone.now(),
    )
    audit_log.record(
        actor, "consent.recorded", record, changes=audit_log.diff({}, audit_log.snapshot(record))
    )
    return record


def has_consent(contact: Contact, purpose: str) -> bool:
    latest = contact.consents.filter(purpose=purpose).order_by("-recorded_at").first()
    return bool(latest and latest.granted)
