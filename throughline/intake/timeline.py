"""What intake adds to a contact's timeline: their leads, and the history of merged records."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source
from throughline.intake.models import ContactMerge, Lead


@timeline_source
def leads(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    rows = (
        Lead.objects.filter(contact=contact)
        .select_related("source", "owner")
        .order_by("-received_at")[:limit]
    )
    for lead in rows:
        title = f"Lead via {lead.get_channel_display().lower()} ({lead.source.name})"
        if lead.status != Lead.Status.NEW:
            title += f" — {lead.get_status_display().lower()}"
        yield TimelineEntry(
            at=lead.received_at,
            kind="lead",
            title=title,
            body=lead.message,
            actor=str(lead.owner) if lead.owner else "",
            url=reverse("intake:lead_detail", args=[lead.pk]),
            extra={"lead_id": str(lead.pk), "status": lead.status},
        )


@timeline_source
def merged_records(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    """Merges into this contact, and the audit history the merged records had."""
    merges = list(ContactMerge.objects.filter(survivor=contact).select_related("merged_by"))
    if not merges:
        return
    names = {str(m.merged_contact_id): m.merged_repr for m in merges}
    for merge in merges:
        yield TimelineEntry(
            at=merge.merged_at,
            kind="merge",
            title=f"Merged with {merge.merged_repr}",
            body=", ".join(f"{n} × {what}" for what, n in sorted(merge.moved.items())),
            actor=str(merge.merged_by) if merge.merged_by else "",
        )
    history = AuditEntry.objects.filter(object_type="crm.contact", object_id__in=list(names))
    for entry in history.order_by("-seq")[:limit]:
        yield TimelineEntry(
            at=entry.at,
            kind="audit",
            title=f"{entry.action.replace('.', ' ').capitalize()} (as {names[entry.object_id]})",
            actor=entry.actor_label,
        )
