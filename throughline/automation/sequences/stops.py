"""Stop conditions fed by events: a reply, a meeting, a conversion, a payment.

An inbound e-mail logged on a contact (``activity.logged``, kind e-mail, direction "in") is a
reply; a logged meeting is a meeting booked; ``lead.converted`` and ``deal.won`` are a
conversion; ``invoice.paid`` is paid. Unsubscribing (a suppression or withdrawn consent) has no
event: the runner checks it before every step. An enrolment about a record (an invoice) stops
on that record's events; otherwise on the contact's.
"""

from __future__ import annotations

from django.db.models import Q

from throughline.automation import registry
from throughline.automation.models import Enrollment, StopReason
from throughline.automation.sequences.runner import sequence_actor
from throughline.automation.sequences.services import stop
from throughline.core import events
from throughline.core.models import DomainEvent
from throughline.crm.models import Activity

REASON_BY_EVENT = {
    "lead.converted": StopReason.CONVERTED,
    "deal.won": StopReason.CONVERTED,
    "invoice.paid": StopReason.PAID,
}


def reason_for(event: DomainEvent) -> str | None:
    if event.name in REASON_BY_EVENT:
        return REASON_BY_EVENT[event.name]
    if event.name == "activity.logged":
        activity = Activity.objects.filter(pk=event.subject_id).first()
        if activity is None:
            return None
        if activity.kind == Activity.Kind.EMAIL and activity.direction == "in":
            return StopReason.REPLIED
        if activity.kind == Activity.Kind.MEETING:
            return StopReason.MEETING_BOOKED
    return None


@events.on("activity.logged", *REASON_BY_EVENT)
def stop_enrollments_on_event(event: DomainEvent) -> int:
    reason = reason_for(event)
    if reason is None:
        return 0
    contact_id, _ = registry.subject_for_event(event, "crm.contact")
    about_this = Q(subject_type=event.subject_type, subject_id=event.subject_id)
    # An enrolment about another record of the same type (another invoice) is not stopped.
    of_contact = (
        Q(contact_id=contact_id) & ~Q(subject_type=event.subject_type) if contact_id else Q(pk=None)
    )
    candidates = (
        Enrollment.objects.select_for_update(of=("self",))
        .filter(about_this | of_contact, status=Enrollment.Status.ACTIVE)
        .filter(created_at__lte=event.occurred_at)
        .select_related("sequence")
    )
    actor = sequence_actor()
    return sum(
        stop(actor, enrollment, reason)
        for enrollment in candidates
        if reason in (enrollment.sequence.stop_on or [])
    )
