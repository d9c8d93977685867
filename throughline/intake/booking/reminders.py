"""Reminders 24 hours and 1 hour before a meeting, as jobs queued with the booking.

Each job carries the meeting's ``sequence``: after a reschedule or a cancel the sequence has
moved on, so a reminder queued for the old time does nothing (the new time has its own).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from throughline.core import public_tokens
from throughline.core.actor import Actor
from throughline.core.jobs import job
from throughline.core.models import Channel, Organization
from throughline.intake.booking.models import Availability, Meeting

REMINDERS = {"24h": dt.timedelta(hours=24), "1h": dt.timedelta(hours=1)}


def schedule_reminders(meeting: Meeting, now: dt.datetime | None = None) -> list[str]:
    """Queue the reminders still ahead (in the caller's transaction)."""
    now = now or timezone.now()
    queued = []
    for which, before in REMINDERS.items():
        at = meeting.starts_at - before
        if at > now:
            send_meeting_reminder.using(run_after=at).enqueue(
                str(meeting.pk), meeting.sequence, which
            )
            queued.append(which)
    return queued


@job(max_attempts=5)
def send_meeting_reminder(meeting_id: str, sequence: int, which: str) -> str:
    from throughline.intake.booking.services import (
        MANAGE_AFTER_END,
        MANAGE_SCOPE,
        local_text,
        manage_url,
    )
    from throughline.messaging.services import queue_email

    with transaction.atomic():
        meeting = (
            Meeting.objects.select_for_update().select_related("host").filter(pk=meeting_id).first()
        )
        if meeting is None or not meeting.is_booked:
            return "no longer booked"
        if meeting.sequence != sequence:
            return "stale: the meeting moved"
        if meeting.starts_at <= timezone.now():
            return "too late"
        actor = Actor.system(Channel.WORKER, label="meeting reminders")
        host = meeting.host
        availability = Availability.objects.filter(user=host).first()
        host_tz = availability.time_zone if availability else Organization.current().time_zone
        token = public_tokens.issue_token(
            MANAGE_SCOPE, meeting, expires_at=meeting.ends_at + MANAGE_AFTER_END
        )
        for who, to, tz_name in (
            ("attendee", meeting.attendee_email, meeting.attendee_time_zone),
            ("host", host.email, host_tz),
        ):
            context = {
                "meeting": meeting,
                "who": who,
                "which": "tomorrow" if which == "24h" else "in one hour",
                "when": local_text(meeting.starts_at, tz_name),
                "manage_url": manage_url(token) if who == "attendee" else "",
                "organization": str(Organization.current()),
                "base_url": settings.BASE_URL,
            }
            queue_email(
                actor,
                to=to,
                subject=f"Reminder: {meeting.title} {context['which']} — {context['when']}"[:300],
                body_text=render_to_string("intake_booking/email/reminder.txt", context),
                contact=meeting.contact if who == "attendee" else None,
                source=f"intake_booking.meeting:{meeting.pk}",
                idempotency_key=f"meeting-reminder:{meeting.pk}:{sequence}:{which}:{who}",
            )
    return f"sent {which}"
