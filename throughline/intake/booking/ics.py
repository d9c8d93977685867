"""iCalendar files: the invitation (METHOD:REQUEST / CANCEL) and a user's calendar feed.

Times are written in UTC (``DTSTART:20260330T070000Z``): every calendar converts them to its
own zone, so a meeting across a DST change lands at the right wall-clock time everywhere.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from throughline.core.models import Organization, User
from throughline.crm.models import Task
from throughline.intake.booking.models import Meeting

PRODID = "-//Throughline//Booking//EN"
TASK_MINUTES = 15
FEED_DAYS_BACK = 30
FEED_DAYS_AHEAD = 365


def _calendar(method: str | None = None) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    return cal


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def meeting_event(meeting: Meeting, *, description: str = "") -> Event:
    host = meeting.host
    event = Event()
    event.add("uid", meeting.ical_uid)
    event.add("sequence", meeting.sequence)
    event.add("dtstamp", _utc(timezone.now()))
    event.add("dtstart", _utc(meeting.starts_at))
    event.add("dtend", _utc(meeting.ends_at))
    event.add("summary", f"{meeting.title}: {host} and {meeting.attendee_name}")
    if description:
        event.add("description", description)
    if meeting.location:
        event.add("location", meeting.location)
    organizer = vCalAddress(f"mailto:{host.email}")
    organizer.params["cn"] = vText(str(host))
    event.add("organizer", organizer)
    attendee = vCalAddress(f"mailto:{meeting.attendee_email}")
    attendee.params["cn"] = vText(meeting.attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("ACCEPTED")
    event.add("attendee", attendee, encode=0)
    cancelled = meeting.status == Meeting.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    return event


def invitation(meeting: Meeting, *, description: str = "") -> bytes:
    """The .ics sent with the invitation e-mail; CANCEL once the meeting is cancelled."""
    cancelled = meeting.status == Meeting.Status.CANCELLED
    cal = _calendar("CANCEL" if cancelled else "REQUEST")
    cal.add_component(meeting_event(meeting, description=description))
    return cal.to_ical()


def feed(user: User, now: dt.datetime | None = None) -> bytes:
    """The user's meetings and open tasks with a due time, for calendar apps (no METHOD)."""
    now = now or timezone.now()
    cal = _calendar()
    cal.add("x-wr-calname", f"{user} — {Organization.current()}")
    since = now - dt.timedelta(days=FEED_DAYS_BACK)
    until = now + dt.timedelta(days=FEED_DAYS_AHEAD)
    meetings = Meeting.objects.filter(
        host=user, status=Meeting.Status.BOOKED, starts_at__gte=since, starts_at__lt=until
    ).select_related("host")
    for meeting in meetings:
        cal.add_component(meeting_event(meeting))
    tasks = Task.objects.filter(
        owner=user, done_at__isnull=True, due_at__gte=since, due_at__lt=until
    ).select_related("contact")
    base = settings.BASE_URL.rstrip("/")
    for task in tasks:
        event = Event()
        event.add("uid", f"task-{task.pk}@throughline")
        event.add("dtstamp", _utc(now))
        event.add("dtstart", _utc(task.due_at))
        event.add("dtend", _utc(task.due_at + dt.timedelta(minutes=TASK_MINUTES)))
        event.add("summary", f"Task: {task.title}")
        about = f"About {task.contact}\n" if task.contact_id else ""
        event.add("description", f"{about}{task.description}\n{base}/crm/tasks/".strip())
        cal.add_component(event)
    return cal.to_ical()
