"""Intake's reactions to other apps' events (registered by ``IntakeConfig.ready``).

* A contact or company created or changed anywhere (CRM screens, API, imports) gets fresh
  blocking keys, so likely-match search sees it; a renamed company's people too. When the
  change left the keys as they were, or wrote them itself (capture and imports do, in the
  same transaction), no job is queued.
* An outbound e-mail, call or meeting logged by a person on a contact answers that
  contact's open leads: the first one sets ``first_response_at`` and emits
  ``lead.first_response_sent``. The CRM does not know leads exist; intake listens instead.

Handlers run as jobs, at least once; each is idempotent.
"""

from __future__ import annotations

from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.crm.models import Activity, Company, Contact
from throughline.intake import dedup, sla
from throughline.intake.models import Lead

RESPONSE_KINDS = {Activity.Kind.EMAIL, Activity.Kind.CALL, Activity.Kind.MEETING}


def _already_indexed(model: type[Contact | Company]):
    """A ``done`` hook: the events whose record's keys need no re-indexing (``dedup``)."""
    name = model._meta.model_name

    def done(changed: list[DomainEvent]) -> set[int]:
        created = {e.subject_id for e in changed if e.name == f"{name}.created"}
        updated = {e.subject_id for e in changed if e.name == f"{name}.updated"}
        current = dedup.already_indexed(model, created, updated)
        return {event.id for event in changed if event.subject_id in current}

    return done


@events.on("contact.created", "contact.updated", done=_already_indexed(Contact))
def reindex_contact(event: DomainEvent) -> None:
    contact = Contact.objects.filter(pk=event.subject_id).first()
    if contact is not None:
        dedup.index_contact(contact)


@events.on("company.created", "company.updated", done=_already_indexed(Company))
def reindex_company(event: DomainEvent) -> None:
    company = Company.objects.filter(pk=event.subject_id).first()
    if company is not None and dedup.index_company(company):
        # Its people's key rows carry its name and domain (their organization, colleague keys).
        for contact in company.contacts.select_related("company").iterator(chunk_size=500):
            dedup.index_contact(contact)


def is_outbound_touch(activity: Activity) -> bool:
    """An e-mail, call or meeting *we* made, logged by a person (not an inbound message)."""
    return (
        activity.kind in RESPONSE_KINDS
        and activity.direction == "out"
        and activity.author_id is not None
        and activity.contact_id is not None
    )


@events.on("activity.logged")
def first_response_from_activity(event: DomainEvent) -> None:
    activity = Activity.objects.select_related("author").filter(pk=event.subject_id).first()
    if activity is None or not is_outbound_touch(activity):
        return
    waiting = Lead.objects.filter(
        contact_id=activity.contact_id,
        first_response_at__isnull=True,
        received_at__lte=activity.occurred_at,
        status__in=Lead.OPEN_STATUSES,
    )
    actor = Actor(user=activity.author, channel=Channel.WORKER, label="first response")
    for lead in waiting:
        sla.record_first_response(
            actor, lead, at=activity.occurred_at, via=activity.kind, cause=event
        )
