"""What booking and routing add to a contact's timeline.

A booked meeting is a crm meeting activity (the timeline shows it already); here: meetings
cancelled since, and who each of the contact's leads was assigned to and why.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source
from throughline.intake.booking.models import Meeting


@timeline_source
def cancelled_meetings(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    rows = Meeting.objects.filter(contact=contact, status=Meeting.Status.CANCELLED)
    for meeting in rows.select_related("host").order_by("-cancelled_at")[:limit]:
        yield TimelineEntry(
            at=meeting.cancelled_at or meeting.updated_at,
            kind="meeting",
            title=f"Meeting of {meeting.starts_at:%Y-%m-%d %H:%M} UTC cancelled",
            body=meeting.cancel_reason,
            actor=str(meeting.host),
        )


@timeline_source
def assignments(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    from throughline.intake.routing.models import Assignment

    rows = Assignment.objects.filter(lead__contact=contact).select_related("owner", "by")
    for entry in rows.order_by("-at")[:limit]:
        owner = str(entry.owner) if entry.owner else "nobody"
        yield TimelineEntry(
            at=entry.at,
            kind="assignment",
            title=f"Lead {entry.get_kind_display().lower()}: {owner}",
            body=entry.reason,
            actor=str(entry.by) if entry.by else "",
            url=reverse("intake_routing:lead_history", args=[entry.lead_id]),
            extra={"lead_id": str(entry.lead_id), "rule": entry.rule_name},
        )
