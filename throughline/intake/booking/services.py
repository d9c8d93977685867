"""Every booking write: availability, time off, booking, rescheduling, cancelling, feed links.

Double booking: ``book_meeting`` locks the host's ``Availability`` row, recomputes the free
slots and only then inserts; a second booking of the same slot waits for the lock, sees the
first meeting and is refused with ``SlotTaken`` (carrying fresh slots). The unique
constraint on (host, start) of live meetings is the last word should anything slip past.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify

from throughline.core import audit_log, public_tokens
from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.crm import services as crm
from throughline.crm.models import Activity, Contact
from throughline.crm.normalize import clean_name, normalize_email
from throughline.intake.booking import ics
from throughline.intake.booking.availability import (
    Slot,
    free_slots,
    is_valid_zone,
    zone,
)
from throughline.intake.booking.models import Availability, Meeting, TimeOff
from throughline.intake.models import Lead
from throughline.intake.sla import record_first_response, working_spans

MANAGE_SCOPE = "booking.manage"
FEED_SCOPE = "booking.feed"
FEED_LIFETIME = dt.timedelta(days=400)
MANAGE_AFTER_END = dt.timedelta(days=7)
BOOKING_SOURCE = "booking"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,59}$")
ICS_TYPE = "text/calendar"


class SlotTaken(Exception):
    """The chosen time is not (or no longer) free; ``fresh`` are the slots that are."""

    def __init__(self, fresh: list[Slot]):
        super().__init__("This time is no longer available.")
        self.fresh = fresh


@dataclass
class Booked:
    meeting: Meeting
    manage_token: str  # raw, for the attendee's reschedule / cancel link (shown once)
    lead: Lead | None


# --- Links -----------------------------------------------------------------------------------


def page_url(availability: Availability) -> str:
    return f"{settings.BASE_URL}/b/{availability.slug}"


def manage_url(token: str) -> str:
    return f"{settings.BASE_URL}/b/m/{token}"


def feed_url(token: str) -> str:
    return f"{settings.BASE_URL}/b/feed/{token}.ics"


def _unique_slug(user: User) -> str:
    base = slugify(user.full_name or user.email.split("@")[0])[:50] or "meet"
    if len(base) < 2:
        base = f"meet-{base}"
    slug, n = base, 1
    while Availability.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@transaction.atomic
def ensure_availability(actor: Actor, user: User) -> Availability:
    """The user's availability, created from the organization's hours on first use."""
    found = Availability.objects.filter(user=user).first()
    if found is not None:
        return found
    org = Organization.current()
    availability = Availability.objects.create(
        user=user,
        slug=_unique_slug(user),
        time_zone=org.time_zone,
        weekly_hours=org.working_hours,
    )
    audit_log.record(
        actor,
        "availability.created",
        availability,
        changes=audit_log.diff({}, audit_log.snapshot(availability)),
    )
    return availability


def booking_link_for(user: User) -> str:
    """The public booking page of ``user`` (created with default hours if they had none).

    Qualification's "schedule discovery" outcome sends this link to the lead.
    """
    availability = Availability.objects.filter(user=user).first()
    if availability is None:
        availability = ensure_availability(Actor.system(label="booking link"), user)
    return page_url(availability)


# --- Availability and time off -------------------------------------------------------------

NUMBER_LIMITS = {
    "meeting_minutes": (5, 480),
    "slot_step_minutes": (5, 240),
    "buffer_before_minutes": (0, 240),
    "buffer_after_minutes": (0, 240),
    "min_notice_minutes": (0, 60 * 24 * 30),
    "max_per_day": (0, 50),
    "horizon_days": (1, 365),
}
TEXT_FIELDS = {"title": 200, "intro": 2000, "location": 300}


def _clean_hours(raw: Any) -> dict:
    if not isinstance(raw, dict):
        raise ValidationError({"weekly_hours": "Give hours per weekday."})
    cleaned = {}
    for day, span in raw.items():
        if str(day) not in {str(d) for d in range(1, 8)}:
            raise ValidationError({"weekly_hours": f"Unknown weekday {day!r} (1-7)."})
        if span in (None, "", []):
            continue
        if not (isinstance(span, list | tuple) and len(span) == 2):
            raise ValidationError({"weekly_hours": f"Weekday {day}: give [start, end]."})
        start, end = (str(s).strip() for s in span)
        if not working_spans({str(day): [start, end]}):
            raise ValidationError(
                {"weekly_hours": f"Weekday {day}: {start}–{end} is not a span of the day (HH:MM)."}
            )
        cleaned[str(day)] = [start.zfill(5), end.zfill(5)]
    return cleaned


@transaction.atomic
def save_availability(actor: Actor, user: User, **data: Any) -> Availability:
    availability = ensure_availability(actor, user)
    availability = Availability.objects.select_for_update().get(pk=availability.pk)
    before = audit_log.snapshot(availability)
    errors: dict[str, str] = {}
    if "slug" in data:
        slug = str(data["slug"] or "").strip().lower()
        if not SLUG.match(slug):
            errors["slug"] = "Use 2-60 lower-case letters, digits and '-'."
        elif Availability.objects.filter(slug=slug).exclude(pk=availability.pk).exists():
            errors["slug"] = "Someone else has this link."
        availability.slug = slug
    if "time_zone" in data:
        if not is_valid_zone(str(data["time_zone"])):
            errors["time_zone"] = f"{data['time_zone']!r} is not a known time zone."
        availability.time_zone = str(data["time_zone"])
    if "weekly_hours" in data:
        try:
            availability.weekly_hours = _clean_hours(data["weekly_hours"])
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
    for name, (low, high) in NUMBER_LIMITS.items():
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[name] = f"Give a whole number from {low} to {high}."
            else:
                setattr(availability, name, value)
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            setattr(availability, name, str(data[name] or "").strip()[:limit])
    if "is_active" in data:
        availability.is_active = bool(data["is_active"])
    if errors:
        raise ValidationError(errors)
    availability.save()
    changes = audit_log.diff(before, audit_log.snapshot(availability))
    if changes:
        audit_log.record(actor, "availability.updated", availability, changes=changes)
    return availability


@transaction.atomic
def add_time_off(
    actor: Actor, user: User, *, starts_at: dt.datetime, ends_at: dt.datetime, note: str = ""
) -> TimeOff:
    errors = {}
    if starts_at is None or timezone.is_naive(starts_at):
        errors["starts_at"] = "Give a start with its time zone."
    if ends_at is None or timezone.is_naive(ends_at):
        errors["ends_at"] = "Give an end with its time zone."
    elif starts_at is not None and ends_at <= starts_at:
        errors["ends_at"] = "The end must be after the start."
    if errors:
        raise ValidationError(errors)
    item = TimeOff.objects.create(user=user, starts_at=starts_at, ends_at=ends_at, note=note[:200])
    audit_log.record(
        actor,
        "time_off.added",
        item,
        changes={"user": [None, user.email], "from": [None, starts_at], "to": [None, ends_at]},
    )
    return item


@transaction.atomic
def delete_time_off(actor: Actor, item: TimeOff) -> None:
    audit_log.record(actor, "time_off.deleted", item, changes={"user": [item.user.email, None]})
    item.delete()


# --- Booking ---------------------------------------------------------------------------------


def _clean_visitor(name: str, email: str, time_zone: str) -> tuple[str, str, str]:
    errors = {}
    name = clean_name(name)[:200]
    if not name:
        errors["name"] = "Tell us your name."
    try:
        display, _ = normalize_email(email)
    except ValidationError as exc:
        errors["email"] = exc.messages[0]
        display = ""
    if not display and "email" not in errors:
        errors["email"] = "Give your e-mail address for the invitation."
    if time_zone and not is_valid_zone(time_zone):
        errors["time_zone"] = f"{time_zone!r} is not a known time zone."
    if errors:
        raise ValidationError(errors)
    return name, display, time_zone or "UTC"


def _lead_for(actor: Actor, host: User, name: str, email: str, phone: str, message: str):
    """The visitor's open lead (a known contact), or a new lead captured for the host."""
    from throughline.intake.capture import LeadInput, capture_lead

    _, normalized = normalize_email(email)
    contact = Contact.objects.filter(email_normalized=normalized).first()
    if contact is not None:
        lead = (
            Lead.objects.filter(contact=contact, status__in=Lead.OPEN_STATUSES)
            .order_by("-received_at")
            .first()
        )
        if lead is not None:
            return lead, contact, False
    first, _, last = name.partition(" ")
    result = capture_lead(
        actor,
        LeadInput(
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            message=message,
            source=BOOKING_SOURCE,
            channel=Lead.Channel.FORM,
            owner=host,
            acknowledge=False,
            create_task=False,
            raw={"booking": True},
        ),
    )
    return result.lead, result.contact, result.created


def _fresh(availability: Availability, ignore: Meeting | None = None) -> list[Slot]:
    return free_slots(availability, ignore_meeting=ignore)


def book_meeting(
    actor: Actor,
    availability: Availability,
    *,
    starts_at: dt.datetime,
    name: str,
    email: str,
    phone: str = "",
    message: str = "",
    time_zone: str = "UTC",
    lead: Lead | None = None,
) -> Booked:
    """Book ``starts_at`` with the availability's user; ``SlotTaken`` if it is not free."""
    name, email, time_zone = _clean_visitor(name, email, time_zone)
    message = (message or "").strip()[:5000]
    try:
        with transaction.atomic():
            locked = (
                Availability.objects.select_for_update()
                .select_related("user")
                .get(pk=availability.pk)
            )
            slots = _fresh(locked)
            chosen = next((s for s in slots if s.starts_at == starts_at), None)
            if chosen is None:
                raise SlotTaken(slots)
            host = locked.user
            new_lead = False
            if lead is not None:
                contact = lead.contact
            else:
                lead, contact, new_lead = _lead_for(actor, host, name, email, phone, message)
            with transaction.atomic():
                meeting = Meeting.objects.create(
                    host=host,
                    contact=contact,
                    lead=lead,
                    title=locked.title,
                    starts_at=chosen.starts_at,
                    ends_at=chosen.ends_at,
                    attendee_name=name,
                    attendee_email=email,
                    attendee_time_zone=time_zone,
                    message=message,
                    location=locked.location,
                )
            activity = crm.log_activity(
                actor,
                kind=Activity.Kind.MEETING,
                contact=contact,
                subject=f"{locked.title} with {host} booked",
                body=message or f"Booked by {name} on the booking page.",
                occurred_at=meeting.starts_at,
                duration_seconds=int((meeting.ends_at - meeting.starts_at).total_seconds()),
                direction="in",
                metadata={
                    "meeting_id": str(meeting.pk),
                    "lead_id": str(lead.pk) if lead else None,
                    "host_id": str(host.pk),
                },
            )
            meeting.activity = activity
            meeting.save(update_fields=["activity", "updated_at"])
            if new_lead:
                # A lead that came in by booking already has its next step: the meeting.
                # Its first-response clock stops here instead of breaching in five minutes.
                record_first_response(actor, lead, via="meeting booked")
            audit_log.record(
                actor,
                "meeting.booked",
                meeting,
                changes={
                    "host": [None, host.email],
                    "starts_at": [None, meeting.starts_at],
                    "attendee": [None, email],
                    "lead": [None, str(lead.pk) if lead else None],
                },
            )
            from throughline.intake.booking.nurture import stop_lead_nurture

            stop_lead_nurture(actor, contact, lead, "meeting_booked")
            token = _issue_manage_token(meeting)
            send_invitations(actor, meeting, token)
            from throughline.intake.booking.reminders import schedule_reminders

            schedule_reminders(meeting)
    except IntegrityError as exc:
        # The unique (host, start) constraint: someone booked it in the same instant.
        raise SlotTaken(_fresh(availability)) from exc
    return Booked(meeting=meeting, manage_token=token, lead=lead)


def _issue_manage_token(meeting: Meeting) -> str:
    return public_tokens.issue_token(
        MANAGE_SCOPE, meeting, expires_at=meeting.ends_at + MANAGE_AFTER_END
    )


def reschedule_meeting(actor: Actor, meeting: Meeting, *, starts_at: dt.datetime) -> Booked:
    """Move a booked meeting to another free slot; old links stop working, new ones go out."""
    try:
        with transaction.atomic():
            meeting = Meeting.objects.select_for_update().select_related("host").get(pk=meeting.pk)
            if not meeting.is_booked:
                raise ValidationError("This meeting was cancelled.")
            availability = Availability.objects.select_for_update().get(user=meeting.host)
            slots = _fresh(availability, ignore=meeting)
            chosen = next((s for s in slots if s.starts_at == starts_at), None)
            if chosen is None:
                raise SlotTaken(slots)
            before = meeting.starts_at
            meeting.starts_at, meeting.ends_at = chosen.starts_at, chosen.ends_at
            meeting.sequence += 1
            with transaction.atomic():
                meeting.save(update_fields=["starts_at", "ends_at", "sequence", "updated_at"])
            if meeting.activity_id:
                # The crm activity mirrors the meeting's time (its timeline entry moves too).
                Activity.objects.filter(pk=meeting.activity_id).update(
                    occurred_at=meeting.starts_at, updated_at=timezone.now()
                )
            audit_log.record(
                actor,
                "meeting.rescheduled",
                meeting,
                changes={
                    "starts_at": [before, meeting.starts_at],
                    "sequence": [None, meeting.sequence],
                },
            )
            public_tokens.revoke_tokens(MANAGE_SCOPE, meeting)
            token = _issue_manage_token(meeting)
            send_invitations(actor, meeting, token, rescheduled_from=before)
            from throughline.intake.booking.reminders import schedule_reminders

            schedule_reminders(meeting)
    except IntegrityError as exc:
        raise SlotTaken(_fresh(Availability.objects.get(user=meeting.host), meeting)) from exc
    return Booked(meeting=meeting, manage_token=token, lead=meeting.lead)


@transaction.atomic
def cancel_meeting(actor: Actor, meeting: Meeting, *, reason: str = "") -> Meeting:
    meeting = Meeting.objects.select_for_update().select_related("host").get(pk=meeting.pk)
    if not meeting.is_booked:
        raise ValidationError("This meeting is already cancelled.")
    meeting.status = Meeting.Status.CANCELLED
    meeting.cancelled_at = timezone.now()
    meeting.cancel_reason = (reason or "").strip()[:300]
    meeting.sequence += 1
    meeting.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "sequence", "updated_at"]
    )
    audit_log.record(
        actor,
        "meeting.cancelled",
        meeting,
        changes={"status": ["booked", "cancelled"], "reason": [None, meeting.cancel_reason]},
    )
    public_tokens.revoke_tokens(MANAGE_SCOPE, meeting)
    send_invitations(actor, meeting, "")
    return meeting


# --- E-mail ------------------------------------------------------------------------------


def _store_ics(meeting: Meeting, content: bytes) -> str:
    name = f"booking/ics/{meeting.pk}-{meeting.sequence}.ics"
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(content))


def local_text(at: dt.datetime, tz_name: str) -> str:
    local = at.astimezone(zone(tz_name))
    return f"{local:%A, %d %B %Y at %H:%M} ({tz_name}, UTC{local:%z})"


def send_invitations(
    actor: Actor, meeting: Meeting, token: str, *, rescheduled_from: dt.datetime | None = None
) -> list:
    """The invitation (or update, or cancellation) with its .ics, to the attendee and host."""
    from throughline.messaging.services import queue_email

    host = meeting.host
    cancelled = meeting.status == Meeting.Status.CANCELLED
    link = manage_url(token) if token else ""
    description = f"Reschedule or cancel: {link}" if link else ""
    stored = _store_ics(meeting, ics.invitation(meeting, description=description))
    attachment = {
        "filename": "cancel.ics" if cancelled else "invite.ics",
        "content_type": ICS_TYPE,
        "storage_name": stored,
    }
    availability = Availability.objects.filter(user=host).first()
    host_tz = availability.time_zone if availability else Organization.current().time_zone
    kind = "cancelled" if cancelled else ("rescheduled" if rescheduled_from else "booked")
    sent = []
    for who, to, tz_name in (
        ("attendee", meeting.attendee_email, meeting.attendee_time_zone),
        ("host", host.email, host_tz),
    ):
        context = {
            "meeting": meeting,
            "who": who,
            "kind": kind,
            "when": local_text(meeting.starts_at, tz_name),
            "was": local_text(rescheduled_from, tz_name) if rescheduled_from else "",
            "manage_url": link if who == "attendee" else "",
            "organization": str(Organization.current()),
            "base_url": settings.BASE_URL,
        }
        subject = {
            "booked": f"Invitation: {meeting.title} — {context['when']}",
            "rescheduled": f"Moved: {meeting.title} — {context['when']}",
            "cancelled": f"Cancelled: {meeting.title} — {context['when']}",
        }[kind]
        sent.append(
            queue_email(
                actor,
                to=to,
                subject=subject[:300],
                body_text=render_to_string("intake_booking/email/invitation.txt", context),
                contact=meeting.contact if who == "attendee" else None,
                source=f"intake_booking.meeting:{meeting.pk}",
                idempotency_key=f"meeting:{meeting.pk}:{meeting.sequence}:{who}",
                attachments=[attachment],
            )
        )
    return sent


# --- Calendar feed ---------------------------------------------------------------------------


@transaction.atomic
def issue_feed_token(actor: Actor, user: User) -> str:
    """A fresh secret feed URL for the user's calendar app; earlier ones stop working."""
    availability = ensure_availability(actor, user)
    public_tokens.revoke_tokens(FEED_SCOPE, availability)
    raw = public_tokens.issue_token(FEED_SCOPE, availability, expires_in=FEED_LIFETIME)
    audit_log.record(actor, "calendar_feed.issued", availability, changes={"feed": [None, "new"]})
    return raw


def feed_for_token(raw: str) -> bytes:
    availability = public_tokens.resolve_token(raw, FEED_SCOPE)
    return ics.feed(availability.user)
