"""Merging two contacts that are one person, and deciding possible duplicates.

A merge keeps *everything* of both: every record of any app that points at the removed
contact (leads, activities, tasks, consent records, outbound messages, and whatever later
apps add) is re-pointed to the survivor — found through Django's model metadata, so a new
app's relation is covered the day it lands. Audit entries are append-only and keep the
removed contact's id; a ``ContactMerge`` row remembers it so the survivor's timeline still
shows them. The merge is audited on the survivor, the removed contact's last state is in its
``contact.deleted`` entry, and ``contact.merged`` / ``lead.duplicate_merged`` are emitted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ForeignObjectRel
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.crm import services as crm
from throughline.crm.custom_fields import definitions
from throughline.crm.models import Contact
from throughline.intake import dedup
from throughline.intake.models import ContactKey, ContactMerge, Lead, PossibleDuplicate

# Contact fields a person chooses between on the merge screen, in display order.
MERGE_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "E-mail",
    "phone": "Phone",
    "title": "Job title",
    "company": "Company",
    "owner": "Owner",
    "notes": "Notes",
}
# Rebuilt for the survivor instead of moved.
_NOT_MOVED = {ContactKey}


@dataclass(frozen=True)
class FieldChoice:
    name: str
    label: str
    keep: Any  # the survivor's value
    other: Any  # the merged contact's value
    default: str  # "keep" or "other"

    @property
    def differs(self) -> bool:
        return self.keep != self.other


def _value(contact: Contact, name: str) -> Any:
    return getattr(contact, name)


def field_choices(survivor: Contact, merged: Contact) -> list[FieldChoice]:
    """Both values of every field; the survivor's wins unless it is empty."""
    rows = []
    for name, label in MERGE_FIELDS.items():
        keep, other = _value(survivor, name), _value(merged, name)
        default = "other" if (keep in (None, "") and other not in (None, "")) else "keep"
        rows.append(FieldChoice(name, label, keep, other, default))
    return rows


def _reverse_relations():
    """Every relation of any model pointing at Contact (hidden ones included)."""
    for rel in Contact._meta.get_fields(include_hidden=True):
        if not isinstance(rel, ForeignObjectRel):
            continue
        model = rel.related_model
        if model in _NOT_MOVED or model._meta.auto_created:
            continue  # key rows are rebuilt; M2M link tables are moved through the relation
        yield rel


def related_counts(contact: Contact) -> dict[str, int]:
    """How many records of each kind point at ``contact`` (shown beside the merge choices)."""
    counts: dict[str, int] = {}
    for rel in _reverse_relations():
        model = rel.related_model
        n = model._base_manager.filter(**{rel.field.name: contact}).count()
        if n:
            label = str(model._meta.verbose_name_plural)
            if rel.field.name != "contact":
                label += f" ({rel.field.verbose_name})"
            counts[label] = counts.get(label, 0) + n
    return counts


def _repoint(survivor: Contact, merged: Contact) -> dict[str, int]:
    moved: dict[str, int] = {}
    for rel in _reverse_relations():
        model, name = rel.related_model, rel.field.name
        if rel.many_to_many:
            n = 0
            for obj in model._base_manager.filter(**{name: merged}):
                manager = getattr(obj, name)
                manager.add(survivor)
                manager.remove(merged)
                n += 1
        else:
            rows = model._base_manager.filter(**{name: merged})
            if rel.one_to_one and model._base_manager.filter(**{name: survivor}).exists():
                raise ValidationError(
                    f"Both contacts have a {model._meta.verbose_name}; merge cannot keep both."
                )
            n = rows.update(**{name: survivor})
        if n:
            moved[f"{model._meta.label_lower}.{name}"] = n
    return moved


def _refresh_duplicate_of(lead_ids: Iterable) -> None:
    """A lead's ``duplicate_of`` names its best *open* possible duplicate, or nothing."""
    for lead in Lead.objects.filter(pk__in=set(lead_ids)):
        best = (
            lead.possible_duplicates.filter(status=PossibleDuplicate.Status.OPEN)
            .exclude(candidate_id=lead.contact_id)
            .order_by("-confidence")
            .first()
        )
        new = (best.candidate_id, best.confidence) if best else (None, None)
        if (lead.duplicate_of_id, lead.duplicate_confidence) != new:
            lead.duplicate_of_id, lead.duplicate_confidence = new
            lead.save(update_fields=["duplicate_of", "duplicate_confidence", "updated_at"])


@transaction.atomic
def merge_contacts(
    actor: Actor, survivor: Contact, merged: Contact, *, take: Iterable[str] = ()
) -> Contact:
    """Fold ``merged`` into ``survivor``; ``take`` names fields whose value comes from ``merged``.

    Fields not named keep the survivor's value, except that an empty one is filled from the
    merged contact. Tags are united; custom field values are united, the survivor's winning.
    """
    if survivor.pk == merged.pk:
        raise ValidationError("A contact cannot be merged with itself.")
    take = set(take)
    unknown = take - set(MERGE_FIELDS)
    if unknown:
        raise ValidationError({"take": f"Unknown fields: {', '.join(sorted(unknown))}."})
    # Locks in primary-key order, so two merges of overlapping pairs cannot deadlock.
    locked = {
        c.pk: c
        for c in Contact.objects.select_for_update()
        .filter(pk__in=[survivor.pk, merged.pk])
        .order_by("pk")
    }
    if len(locked) != 2:
        raise ValidationError("One of the contacts no longer exists (merged meanwhile?).")
    survivor, merged = locked[survivor.pk], locked[merged.pk]

    values: dict[str, Any] = {}
    for choice in field_choices(survivor, merged):
        if (choice.name in take or choice.default == "other") and choice.differs:
            values[choice.name] = choice.other
    tags = sorted(
        set(survivor.tags.values_list("name", flat=True))
        | set(merged.tags.values_list("name", flat=True))
    )
    # Values only the merged contact has, for fields that still exist (the survivor's win).
    defined = {d.key for d in definitions("contact")}
    extra_custom = {
        k: v
        for k, v in (merged.custom or {}).items()
        if k in defined and k not in (survivor.custom or {})
    }
    if extra_custom:
        values["custom"] = extra_custom

    snapshot = audit_log.snapshot(merged)
    merged_repr = str(merged)[:200]
    merged_id = merged.pk
    moved = _repoint(survivor, merged)

    # Pairs that now name the survivor twice are settled by this merge.
    PossibleDuplicate.objects.filter(
        contact_id=survivor.pk, candidate_id=survivor.pk, status=PossibleDuplicate.Status.OPEN
    ).update(
        status=PossibleDuplicate.Status.MERGED, resolved_by=actor.user, resolved_at=timezone.now()
    )
    _refresh_duplicate_of(Lead.objects.filter(contact=survivor).values_list("pk", flat=True))

    ContactMerge.objects.create(
        survivor=survivor,
        merged_contact_id=merged_id,
        merged_repr=merged_repr,
        snapshot=snapshot,
        moved=moved,
        merged_by=actor.user,
        merged_at=timezone.now(),
    )
    audit_log.record(
        actor,
        "contact.merged",
        survivor,
        changes={
            "merged_from": [None, str(merged_id)],
            "merged_name": [None, merged_repr],
            "moved": [None, moved],
            "fields_taken": [None, sorted(values)],
        },
    )
    # The removed contact's last state goes into its own audit entry ("contact.deleted").
    crm.delete_contact(actor, Contact.objects.get(pk=merged_id))
    survivor = crm.update_contact(actor, survivor, **values, tags=tags)
    dedup.index_contact(survivor)
    events.emit(
        actor,
        "contact.merged",
        survivor,
        merged_contact_id=str(merged_id),
        moved=moved,
    )
    return survivor


def _claim_open(duplicate: PossibleDuplicate) -> PossibleDuplicate:
    duplicate = (
        PossibleDuplicate.objects.select_for_update(of=("self",))
        .select_related("lead", "contact", "candidate")
        .filter(pk=duplicate.pk)
        .first()
    )
    if duplicate is None:
        raise ValidationError("This possible duplicate no longer exists.")
    if duplicate.status != PossibleDuplicate.Status.OPEN:
        raise ValidationError(
            f"This possible duplicate was already decided ({duplicate.get_status_display()})."
        )
    return duplicate


@transaction.atomic
def merge_duplicate(
    actor: Actor, duplicate: PossibleDuplicate, *, take: Iterable[str] = ()
) -> Contact:
    """Merge the lead's contact into the existing one it duplicates (the older record stays)."""
    duplicate = _claim_open(duplicate)
    lead = duplicate.lead
    merged_id, survivor_id = duplicate.contact_id, duplicate.candidate_id
    counts = related_counts(duplicate.contact)
    survivor = merge_contacts(actor, duplicate.candidate, duplicate.contact, take=take)
    PossibleDuplicate.objects.filter(pk=duplicate.pk).update(
        status=PossibleDuplicate.Status.MERGED,
        resolved_by=actor.user,
        resolved_at=timezone.now(),
    )
    _refresh_duplicate_of([lead.pk])
    lead.refresh_from_db()
    audit_log.record(
        actor,
        "lead.duplicate_merged",
        lead,
        changes={
            "contact": [str(merged_id), str(survivor_id)],
            "confidence": [None, duplicate.confidence],
        },
    )
    events.emit(
        actor,
        "lead.duplicate_merged",
        lead,
        contact_id=str(survivor_id),
        merged_contact_id=str(merged_id),
        confidence=duplicate.confidence,
        moved=counts,
    )
    return survivor


@transaction.atomic
def dismiss_duplicate(actor: Actor, duplicate: PossibleDuplicate, reason: str = "") -> None:
    """Not the same person: close the question, keep both contacts."""
    duplicate = _claim_open(duplicate)
    PossibleDuplicate.objects.filter(pk=duplicate.pk).update(
        status=PossibleDuplicate.Status.DISMISSED,
        resolved_by=actor.user,
        resolved_at=timezone.now(),
    )
    _refresh_duplicate_of([duplicate.lead_id])
    audit_log.record(
        actor,
        "lead.duplicate_dismissed",
        duplicate.lead,
        changes={
            "candidate": [str(duplicate.candidate_id), None],
            "reason": [None, (reason or "").strip()[:300]],
        },
    )
