"""Speed to lead: first-response deadlines in working time, breaches, first responses.

* ``due_at`` counts the SLA in the organization's *working* minutes and time zone: five
  minutes after a lead that arrives at 22:00 on a Friday is 09:05 on Monday.
* ``breach_overdue`` (the every-minute sweep in ``tasks.py``) marks each unanswered lead
  past its deadline exactly once — a conditional UPDATE claims it — emits
  ``lead.sla_breached`` and e-mails the owner and a manager.
* ``record_first_response`` stamps the first outbound touch by a person, once, emits
  ``lead.first_response_sent`` and closes the first-contact task.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.template.loader import render_to_string
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import DomainEvent, Organization, User
from throughline.core.roles import Role
from throughline.crm import services as crm
from throughline.crm.models import Task
from throughline.intake.models import Lead

logger = logging.getLogger(__name__)

DEFAULT_SLA_MINUTES = 5
MAX_DAYS_AHEAD = 400  # a working week may be one day; never loop for ever on odd settings


def _minutes(value: str) -> int:
    hours, minutes = str(value).split(":")
    total = int(hours) * 60 + int(minutes)
    if not 0 <= total <= 24 * 60:
        raise ValueError(value)
    return total


def working_spans(working_hours: dict | None) -> dict[int, tuple[int, int]]:
    """ISO weekday → (start, end) in minutes after midnight. Malformed days are skipped."""
    spans = {}
    for day, span in (working_hours or {}).items():
        try:
            start, end = _minutes(span[0]), _minutes(span[1])
            weekday = int(day)
        except (TypeError, ValueError, IndexError):
            logger.warning("Ignoring malformed working hours for weekday %r: %r", day, span)
            continue
        if 1 <= weekday <= 7 and start < end:
            spans[weekday] = (start, end)
    return spans


def _local(day: dt.date, minutes: int, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    # Wall-clock time on that day (zoneinfo picks the offset in force then, DST included).
    midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
    return (midnight + dt.timedelta(minutes=minutes)).astimezone(dt.UTC)


def add_working_minutes(
    start: dt.datetime, minutes: int, *, time_zone: str, working_hours: dict | None
) -> dt.datetime:
    """``start`` plus ``minutes`` of working time; plain minutes when no hours are set."""
    spans = working_spans(working_hours)
    if not spans:
        return start + dt.timedelta(minutes=minutes)
    tz = zoneinfo.ZoneInfo(time_zone or "UTC")
    start = start.astimezone(dt.UTC)
    remaining = dt.timedelta(minutes=minutes)
    day = start.astimezone(tz).date()
    for _ in range(MAX_DAYS_AHEAD):
        span = spans.get(day.isoweekday())
        if span is not None:
            opens, closes = _local(day, span[0], tz), _local(day, span[1], tz)
            begin = max(opens, start)
            if begin < closes:
                if closes - begin >= remaining:
                    return begin + remaining
                remaining -= closes - begin
        day += dt.timedelta(days=1)
    return start + dt.timedelta(minutes=minutes)  # pragma: no cover - guarded by clean()


def due_at(received_at: dt.datetime, minutes: int, org: Organization | None = None) -> dt.datetime:
    org = org or Organization.current()
    return add_working_minutes(
        received_at, minutes, time_zone=org.time_zone, working_hours=org.working_hours
    )


def next_step_text(received_at: dt.datetime, due: dt.datetime, time_zone: str) -> str:
    """What the acknowledgement promises: "within 5 minutes", "on Monday at 09:05" …"""
    if due - received_at <= dt.timedelta(hours=1):
        minutes = max(1, round((due - received_at).total_seconds() / 60))
        return f"within {minutes} minute{'s' if minutes != 1 else ''}"
    tz = zoneinfo.ZoneInfo(time_zone or "UTC")
    local_due, local_received = due.astimezone(tz), received_at.astimezone(tz)
    clock = local_due.strftime("%H:%M")
    days = (local_due.date() - local_received.date()).days
    if days == 0:
        return f"today by {clock}"
    if days == 1:
        return f"tomorrow by {clock}"
    return f"on {local_due.strftime('%A')} by {clock}"


def sla_state(lead: Lead, now: dt.datetime | None = None) -> str:
    """waiting / breached / met / late / none — the inbox's SLA filter and badge."""
    if lead.sla_due_at is None:
        return "none"
    if lead.first_response_at is not None:
        return "met" if lead.first_response_at <= lead.sla_due_at else "late"
    now = now or timezone.now()
    return "breached" if lead.sla_due_at <= now else "waiting"


# --- Breaches ----------------------------------------------------------------------------------


def manager_for(owner: User | None) -> User | None:
    """Who hears about a breach besides the owner: the longest-serving admin or owner."""
    managers = User.objects.filter(is_active=True, role__in=[Role.ADMIN, Role.OWNER]).order_by(
        "date_joined", "pk"
    )
    if owner is not None:
        managers = managers.exclude(pk=owner.pk)
    return managers.first()


def _notify_breach(actor: Actor, lead: Lead) -> list[str]:
    from throughline.messaging.services import queue_email

    recipients = [u for u in (lead.owner, manager_for(lead.owner)) if u is not None]
    org = Organization.current()
    sent = []
    for user in recipients:
        if not user.is_active or not user.email:
            continue
        context = {
            "lead": lead,
            "user": user,
            "is_owner": user == lead.owner,
            "organization": str(org),
            "tz": org.time_zone,
            "base_url": settings.BASE_URL,
        }
        queue_email(
            actor,
            to=user.email,
            subject=f"First response overdue: {lead.display_name}"[:300],
            body_text=render_to_string("intake/email/sla_breached.txt", context),
            source=lead.task_source,
            idempotency_key=f"lead-sla-breach:{lead.pk}:{user.pk}",
        )
        sent.append(user.email)
    return sent


def breach_overdue(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Mark unanswered leads past their deadline as breached, each exactly once."""
    now = now or timezone.now()
    actor = Actor.system(channel="worker", label="SLA sweep")
    pending = (
        Lead.objects.filter(
            first_response_at__isnull=True,
            sla_breached_at__isnull=True,
            sla_due_at__lte=now,
            status__in=Lead.OPEN_STATUSES,
        )
        .order_by("sla_due_at")
        .values_list("pk", flat=True)[:limit]
    )
    breached = 0
    for pk in list(pending):
        with transaction.atomic():
            # The claim: whoever changes the row first owns the breach (healthchecks' pattern).
            claimed = Lead.objects.filter(
                pk=pk, sla_breached_at__isnull=True, first_response_at__isnull=True
            ).update(sla_breached_at=now)
            if claimed != 1:
                continue
            lead = Lead.objects.select_related("owner", "contact", "source").get(pk=pk)
            overdue = (now - lead.sla_due_at).total_seconds()
            audit_log.record(
                actor, "lead.sla_breached", lead, changes={"sla_breached_at": [None, now]}
            )
            notified = _notify_breach(actor, lead)
            events.emit(
                actor,
                "lead.sla_breached",
                lead,
                owner_id=str(lead.owner_id) if lead.owner_id else None,
                sla_due_at=lead.sla_due_at.isoformat(),
                overdue_seconds=round(overdue),
                notified=notified,
            )
            breached += 1
    return breached


# --- First response ----------------------------------------------------------------------------


def record_first_response(
    actor: Actor,
    lead: Lead,
    *,
    at: dt.datetime | None = None,
    via: str = "",
    cause: DomainEvent | None = None,
) -> bool:
    """Stamp the first response of ``lead`` (once); True if this call was the first."""
    at = at or timezone.now()
    with transaction.atomic():
        claimed = Lead.objects.filter(pk=lead.pk, first_response_at__isnull=True).update(
            first_response_at=at,
            status=Case(
                When(status=Lead.Status.NEW, then=Value(Lead.Status.CONTACTED)),
                default=F("status"),
            ),
            updated_at=timezone.now(),
        )
        if claimed != 1:
            return False
        lead.refresh_from_db()
        seconds = max(0, round((at - lead.received_at).total_seconds()))
        within = lead.sla_due_at is None or at <= lead.sla_due_at
        audit_log.record(
            actor,
            "lead.first_response",
            lead,
            changes={"first_response_at": [None, at], "via": [None, via]},
        )
        for task in Task.objects.filter(source=lead.task_source, done_at__isnull=True):
            crm.complete_task(actor, task)
        events.emit(
            actor,
            "lead.first_response_sent",
            lead,
            cause=cause,
            contact_id=str(lead.contact_id),
            via=via,
            response_seconds=seconds,
            within_sla=within,
        )
    return True
