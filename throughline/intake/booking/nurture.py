"""Nurture for leads: enrol a lead in a sequence, lead merge fields, and the stops.

The automation engine runs sequences and already stops them on a reply, a logged meeting, a
conversion (``lead.converted``) and an unsubscribe. For leads we add:

* merge fields from the lead (``{{ lead.first_name }}``, ``{{ lead.service_line }}``,
  ``{{ owner.name }}``, ``{{ booking_link }}`` …) beside the contact's, for e-mail steps of
  an enrolment about a lead;
* a booking stops the lead's nurture sequences whatever their stop conditions say (done in
  ``services.book_meeting``'s transaction), and a rejected lead leaves them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from throughline.automation import registry
from throughline.automation.models import Enrollment, Sequence
from throughline.automation.sequences import services as sequences
from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.crm.models import Contact
from throughline.intake.models import Lead

LEAD_SUBJECT = "intake.lead"


@transaction.atomic
def enrol_lead(actor: Actor, lead: Lead, sequence: Sequence) -> tuple[Enrollment, bool]:
    """Enrol the lead's contact in ``sequence`` about this lead (once)."""
    if not lead.is_open:
        raise ValidationError(f"The lead is {lead.get_status_display().lower()}: no nurture.")
    return sequences.enrol(
        actor,
        sequence,
        lead.contact,
        subject_type=LEAD_SUBJECT,
        subject_id=str(lead.pk),
        source=f"intake.lead:{lead.pk}",
    )


def stop_lead_nurture(actor: Actor, contact: Contact, lead: Lead | None, reason: str) -> int:
    """Stop the active nurture enrolments of the lead (or of its contact); caller's transaction."""
    about_lead = Q(subject_type=LEAD_SUBJECT, subject_id=str(lead.pk)) if lead else Q(pk=None)
    nurture_of_contact = Q(contact=contact, sequence__purpose=Sequence.Purpose.NURTURE)
    active = Enrollment.objects.select_for_update(of=("self",)).filter(
        about_lead | nurture_of_contact, status=Enrollment.Status.ACTIVE
    )
    return sum(sequences.stop(actor, enrollment, reason) for enrollment in active)


@events.on("lead.rejected")
def leave_nurture_when_rejected(event: DomainEvent) -> int:
    lead = Lead.objects.select_related("contact").filter(pk=event.subject_id).first()
    if lead is None:
        return 0
    actor = Actor.system(Channel.WORKER, label="nurture")
    return stop_lead_nurture(actor, lead.contact, lead, "removed")


def lead_merge_fields(subject_id: str) -> dict[str, Any]:
    from throughline.intake.scoring.booking import booking_link_for

    lead = Lead.objects.select_related("owner", "source").filter(pk=subject_id).first()
    if lead is None:
        return {}
    owner = lead.owner
    custom = lead.custom if isinstance(lead.custom, dict) else {}
    return {
        "lead": {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "full_name": lead.display_name,
            "company": lead.company_name,
            "message": lead.message,
            "source": lead.source.name,
            "status": lead.get_status_display(),
            "service_line": str(custom.get("service_line") or ""),
            "custom": custom,
        },
        "owner": {
            "name": str(owner) if owner else "",
            "first_name": (owner.full_name.split()[0] if owner and owner.full_name else "")
            or (owner.display_name if owner else ""),
            "email": owner.email if owner else "",
        },
        "booking_link": booking_link_for(owner) if owner and owner.is_active else "",
    }


registry.register_merge_fields(LEAD_SUBJECT, lead_merge_fields)


def lead_results(sequence: Sequence) -> dict[str, Any]:
    """What the sequence's lead enrolments led to: stops by reason, leads converted."""
    rows = Enrollment.objects.filter(sequence=sequence, subject_type=LEAD_SUBJECT)
    lead_ids = list(rows.values_list("subject_id", flat=True))
    statuses = Counter(Lead.objects.filter(pk__in=lead_ids).values_list("status", flat=True))
    stops = Counter(rows.exclude(stop_reason="").values_list("stop_reason", flat=True))
    enrolled = len(lead_ids)
    converted = statuses.get(Lead.Status.CONVERTED, 0)
    return {
        "sequence": sequence,
        "enrolled": enrolled,
        "active": rows.filter(status=Enrollment.Status.ACTIVE).count(),
        "booked": stops.get("meeting_booked", 0),
        "replied": stops.get("replied", 0),
        "unsubscribed": stops.get("unsubscribed", 0),
        "converted": converted,
        "conversion_rate": round(100 * converted / enrolled, 1) if enrolled else 0.0,
    }
