"""Every intake write, for views, the API, the CLI, channels and tasks (the app's facade).

Capture is in ``capture.py``, merging in ``merge.py``, deadlines in ``sla.py``; this module
re-exports them and holds the small lead operations of the inbox (reject, log a call, send
an e-mail from a template).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm import services as crm
from throughline.crm.models import Activity, Task
from throughline.intake.capture import (
    ACK_TEMPLATE,
    CaptureResult,
    ConsentInput,
    LeadInput,
    acknowledgement_context,
    capture_lead,
    choose_owner,
)
from throughline.intake.merge import dismiss_duplicate, merge_contacts, merge_duplicate
from throughline.intake.models import Lead
from throughline.intake.sla import breach_overdue, record_first_response

__all__ = [
    "ACK_TEMPLATE",
    "CaptureResult",
    "ConsentInput",
    "LeadInput",
    "breach_overdue",
    "capture_lead",
    "choose_owner",
    "dismiss_duplicate",
    "log_call",
    "merge_contacts",
    "merge_duplicate",
    "record_first_response",
    "reject_lead",
    "send_lead_email",
]

REJECT_REASONS = {
    "spam": "Spam or a bot",
    "not_a_fit": "Not a fit for what we offer",
    "no_budget": "No budget",
    "duplicate": "Duplicate inquiry",
    "unreachable": "Could not reach them",
    "other": "Other",
}


def _lock(lead: Lead) -> Lead:
    return (
        Lead.objects.select_for_update(of=("self",))
        .select_related("contact", "source", "owner")
        .get(pk=lead.pk)
    )


@transaction.atomic
def reject_lead(actor: Actor, lead: Lead, *, reason: str, note: str = "") -> Lead:
    """Close a lead as rejected, with the reason (its first-contact task is closed too)."""
    lead = _lock(lead)
    errors = {}
    if reason not in REJECT_REASONS:
        errors["reason"] = f"Choose one of: {', '.join(REJECT_REASONS)}."
    if lead.status in {Lead.Status.REJECTED, Lead.Status.CONVERTED}:
        errors["__all__"] = f"This lead is already {lead.get_status_display().lower()}."
    if errors:
        raise ValidationError(errors)
    label = REJECT_REASONS[reason]
    text = f"{label}: {note.strip()}" if note and note.strip() else label
    before = lead.status
    lead.status = Lead.Status.REJECTED
    lead.status_reason = text[:300]
    lead.save(update_fields=["status", "status_reason", "updated_at"])
    audit_log.record(
        actor,
        "lead.rejected",
        lead,
        changes={"status": [before, lead.status], "status_reason": ["", lead.status_reason]},
    )
    for task in Task.objects.filter(source=lead.task_source, done_at__isnull=True):
        crm.complete_task(actor, task)
    events.emit(actor, "lead.rejected", lead, reason=reason, note=(note or "").strip()[:300])
    return lead


@transaction.atomic
def log_call(
    actor: Actor,
    lead: Lead,
    *,
    direction: str = "out",
    notes: str = "",
    duration_seconds: int | None = None,
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """A call about the lead, on the contact's timeline; an outgoing one answers the lead."""
    if direction not in {"in", "out"}:
        raise ValidationError({"direction": "Choose incoming or outgoing."})
    lead = _lock(lead)
    subject = "Called them" if direction == "out" else "They called"
    activity = crm.log_activity(
        actor,
        kind=Activity.Kind.CALL,
        contact=lead.contact,
        subject=f"{subject} about their inquiry",
        body=notes,
        occurred_at=occurred_at,
        duration_seconds=duration_seconds,
        direction=direction,
        metadata={"lead_id": str(lead.pk)},
    )
    if direction == "out" and actor.user is not None:
        # Recorded here at once for the inbox; the activity.logged reaction finds it done.
        record_first_response(actor, lead, at=activity.occurred_at, via="call")
    return activity


@transaction.atomic
def send_lead_email(actor: Actor, lead: Lead, *, template_key: str):
    """E-mail the person from a template; sending it is the lead's response."""
    from throughline.messaging.models import EmailTemplate, OutboundMessage
    from throughline.messaging.services import queue_templated_email

    lead = _lock(lead)
    to = lead.email or lead.contact.email
    if not to:
        raise ValidationError({"template": "This lead has no e-mail address."})
    if not EmailTemplate.objects.filter(key=template_key).exists():
        raise ValidationError({"template": "Choose an e-mail template."})
    context = acknowledgement_context(lead, lead.contact, Organization.current())
    sender = actor.user
    context["sender"] = {
        "name": (sender.full_name or sender.display_name) if sender else context["organization"],
        "email": sender.email if sender else "",
    }
    message = queue_templated_email(
        actor,
        template_key,
        to=to,
        context=context,
        contact=lead.contact,
        source=lead.task_source,
    )
    if message.status == OutboundMessage.Status.SUPPRESSED:
        raise ValidationError({"template": f"Not sent: {message.status_reason}."})
    activity = crm.log_activity(
        actor,
        kind=Activity.Kind.EMAIL,
        contact=lead.contact,
        subject=message.subject,
        body=message.body_text,
        direction="out",
        occurred_at=timezone.now(),
        metadata={"lead_id": str(lead.pk), "message_id": str(message.pk)},
    )
    if actor.user is not None:
        record_first_response(actor, lead, at=activity.occurred_at, via="email")
    return message
