"""Phone calls: "Log a call" in the staff UI and ``POST /hooks/calls/<provider>``.

``log_incoming_call(actor, CallInput)`` normalizes the caller's number to E.164 (the
organization's region), then:

* a known caller (a contact with that phone number) → a call activity on their timeline;
* an unknown caller → ``capture_lead`` (channel "call") and the call on the new contact's
  timeline, so duration, notes and recording stay with the person.

Every call is kept as a ``CallLog`` linking what it produced. A provider's call id makes the
hook idempotent: the same call reported twice is logged once.

The hook is signed like a generic lead webhook (a ``WebhookSource`` of kind "calls" holds the
secret; ``X-Throughline-Signature: sha256=<hex>`` over the raw body). Its JSON: ``caller``
(required), ``time`` (ISO 8601, default now), ``duration`` (seconds), ``recording_url``,
``notes``, ``caller_name``, ``direction`` (in/out), ``id``; or any other shape through the
source's mapping (field → path, as for lead webhooks).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm import services as crm
from throughline.crm.models import Activity, Contact
from throughline.crm.normalize import normalize_phone
from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.channels.models import CallLog
from throughline.intake.channels.webhooks import lookup

CALL_FIELDS = [
    "caller",
    "time",
    "duration",
    "recording_url",
    "notes",
    "caller_name",
    "direction",
    "id",
]
MAX_DURATION = 24 * 3600


@dataclass
class CallInput:
    caller: str
    started_at: dt.datetime | None = None
    duration_seconds: int | None = None
    recording_url: str = ""
    notes: str = ""
    caller_name: str = ""
    direction: str = "in"
    provider: str = "ui"
    external_id: str = ""
    raw: Any = None


def input_from_payload(payload: Any, provider: str, mapping: dict[str, str] | None) -> CallInput:
    """A provider's JSON as a ``CallInput``; ``ValidationError`` per field for wrong types."""
    if not isinstance(payload, dict):
        raise ValidationError({"__all__": "Send one JSON object per call."})
    values = {name: lookup(payload, (mapping or {}).get(name, name)) for name in CALL_FIELDS}
    errors: dict[str, str] = {}

    def text(name: str, limit: int) -> str:
        value = values.get(name)
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            errors[name] = "Must be text."
            return ""
        value = str(value).strip()
        if len(value) > limit:
            errors[name] = f"At most {limit} characters."
        return value

    started_at = None
    raw_time = text("time", 64)
    if raw_time:
        try:
            started_at = dt.datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
        except ValueError:
            errors["time"] = "Give an ISO 8601 time, e.g. 2025-03-01T14:05:00Z."
        else:
            if timezone.is_naive(started_at):
                errors["time"] = "Give the time with its time zone (e.g. Z or +01:00)."
    duration = values.get("duration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int | float | str)
    ):
        errors["duration"] = "Must be a number of seconds."
        duration = None
    elif duration is not None:
        try:
            duration = int(float(duration))
        except ValueError:
            errors["duration"] = "Must be a number of seconds."
            duration = None
    data = CallInput(
        caller=text("caller", 64),
        started_at=started_at if "time" not in errors else None,
        duration_seconds=duration,
        recording_url=text("recording_url", 1000),
        notes=text("notes", 20_000),
        caller_name=text("caller_name", 200),
        direction=text("direction", 8) or "in",
        provider=provider,
        external_id=text("id", 200),
        raw=payload,
    )
    if errors:
        raise ValidationError(errors)
    return data


def clean(data: CallInput) -> CallInput:
    errors: dict[str, str] = {}
    if not (data.caller or "").strip():
        errors["caller"] = "Give the caller's phone number."
    else:
        try:
            data.caller = normalize_phone(data.caller, Organization.current().default_phone_region)
        except ValidationError as exc:
            errors["caller"] = " ".join(exc.messages)
    if data.direction not in {"in", "out"}:
        errors["direction"] = "Choose in or out."
    if data.duration_seconds is not None and not 0 <= data.duration_seconds <= MAX_DURATION:
        errors["duration"] = f"Between 0 and {MAX_DURATION} seconds."
    if data.recording_url:
        parsed = urlparse(data.recording_url)
        if parsed.scheme not in {"http", "https"} or not parsed.hostname:
            errors["recording_url"] = "Give an http(s) address."
    if data.started_at is not None:
        if timezone.is_naive(data.started_at):
            errors["time"] = "Give the time with its time zone."
        elif data.started_at > timezone.now() + dt.timedelta(minutes=5):
            errors["time"] = "This time is in the future."
    if errors:
        raise ValidationError(errors)
    data.started_at = data.started_at or timezone.now()
    return data


def _body(data: CallInput) -> str:
    parts = [data.notes.strip()]
    if data.recording_url:
        parts.append(f"Recording: {data.recording_url}")
    return "\n\n".join(p for p in parts if p)


def _activity(actor: Actor, contact: Contact, data: CallInput, log: CallLog) -> Activity:
    who = data.caller_name or data.caller
    subject = f"Call from {who}" if data.direction == "in" else f"Call to {who}"
    return crm.log_activity(
        actor,
        kind=Activity.Kind.CALL,
        contact=contact,
        subject=subject,
        body=_body(data) or subject,
        occurred_at=data.started_at,
        duration_seconds=data.duration_seconds,
        direction=data.direction,
        metadata={
            "call_log_id": str(log.pk),
            "provider": data.provider,
            "caller": data.caller,
            "recording_url": data.recording_url,
        },
    )


def log_incoming_call(actor: Actor, data: CallInput) -> tuple[CallLog, bool]:
    """Record one call (see the module docstring); returns the log and whether it is new."""
    data = clean(data)
    if data.external_id:
        existing = CallLog.objects.filter(
            provider=data.provider, external_id=data.external_id
        ).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            return _log(actor, data), True
    except IntegrityError:
        existing = CallLog.objects.filter(
            provider=data.provider, external_id=data.external_id
        ).first()
        if existing is None:
            raise
        return existing, False


def _log(actor: Actor, data: CallInput) -> CallLog:
    log = CallLog.objects.create(
        provider=data.provider,
        external_id=data.external_id,
        direction=data.direction,
        caller=data.caller,
        caller_name=data.caller_name,
        started_at=data.started_at,
        duration_seconds=data.duration_seconds,
        recording_url=data.recording_url,
        notes=data.notes,
        logged_by=actor.user,
    )
    contact = Contact.objects.filter(phone=data.caller).order_by("created_at").first()
    if contact is None:
        first, _, last = data.caller_name.strip().rpartition(" ")
        result = capture_lead(
            actor,
            LeadInput(
                channel="call",
                phone=data.caller,
                first_name=first if first else last,
                last_name=last if first else "",
                message=_body(data),
                external_id=f"call:{data.provider}:{data.external_id}"[:200]
                if data.external_id
                else "",
                received_at=data.started_at,
                raw=data.raw if data.raw is not None else {"logged_in": "ui"},
                owner=actor.user if actor.user is not None and actor.user.is_active else None,
            ),
        )
        contact = result.contact
        log.lead = result.lead
    log.contact = contact
    log.activity = _activity(actor, contact, data, log)
    log.save(update_fields=["lead", "contact", "activity", "updated_at"])
    return log
