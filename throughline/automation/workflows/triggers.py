"""What starts a run: a domain event, a schedule, or the absence of an event.

* Events: one ``@events.on("*")`` handler (exactly once per event, core.events) starts the
  workflows whose current version listens to the event, and opens or closes absence watches.
* Schedules: a periodic sweep claims each due workflow with a conditional UPDATE on its
  ``next_fire_at`` and computes the following due time from *now* (croniter, in the
  organization's time zone). After downtime a due schedule therefore runs once, late, with
  its lateness logged and kept on the workflow and the run — never zero times, never once
  per missed tick.
* Absences: "A and no B on the same subject within N business days". A opens a watch due
  N business days later; B closes it; a sweep fires the watches that fell due. The event
  outbox is checked again at firing time, so a B whose handler ran before A's still counts.
"""

from __future__ import annotations

import datetime as dt
import logging

from croniter import croniter
from django.db import connection, transaction
from django.utils import timezone

from throughline.automation import registry
from throughline.automation.business_days import Calendar
from throughline.automation.models import AbsenceWatch, TriggerType, Workflow, WorkflowVersion
from throughline.automation.workflows.engine import LATE_AFTER_SECONDS, chain_depth, start_run
from throughline.core import events
from throughline.core.models import DomainEvent, Organization

logger = logging.getLogger(__name__)

MAX_SUBJECTS_PER_SCHEDULED_RUN = 5000
SWEEP_BATCH = 500


def _listened_to(event_names: set[str]) -> set[str]:
    """Which of these events an active workflow or an open absence watch cares about now.

    One query for all the names: per name, EXISTS probes (index look-ups that stop at the
    first row) — a DISTINCT over the watches would read every open watch of a busy event.
    """
    names = sorted(event_names)
    probes = " UNION ALL ".join(["SELECT CAST(%s AS varchar(64)) AS name"] * len(names))
    q = connection.ops.quote_name
    sql = (
        f"SELECT n.name FROM ({probes}) AS n WHERE EXISTS ("  # noqa: S608 - values are params
        f"SELECT 1 FROM {q(Workflow._meta.db_table)} AS w"
        f" JOIN {q(WorkflowVersion._meta.db_table)} AS v ON v.id = w.current_version_id"
        " WHERE w.is_active = %s AND v.trigger_event = n.name"
        f") OR EXISTS (SELECT 1 FROM {q(AbsenceWatch._meta.db_table)} AS a"
        " WHERE a.missing_event = n.name AND a.status = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*names, True, AbsenceWatch.Status.WATCHING])
        return {row[0] for row in cursor.fetchall()}


@events.on("*", wants=_listened_to)
def dispatch_event(event: DomainEvent) -> None:
    """Start event-triggered workflows, open and close absence watches."""
    if not event.subject_type or not event.subject_id:
        return
    depth = chain_depth(event)
    listening = Workflow.objects.filter(
        is_active=True, current_version__trigger_event=event.name
    ).select_related("current_version__workflow")
    for workflow in listening:
        version = workflow.current_version
        if version.trigger_type == TriggerType.EVENT:
            subject_id, subject = registry.subject_for_event(event, version.subject_type)
            if subject is None:
                continue
            start_run(
                version,
                trigger_key=f"event:{event.pk}",
                subject_type=version.subject_type,
                subject_id=subject_id,
                subject=subject,
                event=event,
                depth=depth,
            )
        elif version.trigger_type == TriggerType.ABSENCE:
            open_watch(version, event)
    AbsenceWatch.objects.filter(
        status=AbsenceWatch.Status.WATCHING,
        missing_event=event.name,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        due_at__gte=event.occurred_at,
    ).update(status=AbsenceWatch.Status.CANCELLED, resolved_at=timezone.now())


def open_watch(version: WorkflowVersion, event: DomainEvent) -> AbsenceWatch:
    trigger = version.definition["trigger"]
    due = Calendar.for_organization().add_business_days(event.occurred_at, trigger["business_days"])
    watch, _ = AbsenceWatch.objects.get_or_create(
        version=version,
        start_event=event,
        defaults={
            "missing_event": trigger["missing"],
            "subject_type": event.subject_type,
            "subject_id": event.subject_id,
            "due_at": due,
        },
    )
    return watch


def fire_due_absences(now: dt.datetime | None = None) -> int:
    """Fire the watches whose time ran out without the awaited event; returns runs started."""
    now = now or timezone.now()
    started = 0
    due = (
        AbsenceWatch.objects.filter(status=AbsenceWatch.Status.WATCHING, due_at__lte=now)
        .select_related("version__workflow", "start_event")
        .order_by("due_at")[:SWEEP_BATCH]
    )
    for watch in due:
        with transaction.atomic():
            claimed = AbsenceWatch.objects.filter(
                pk=watch.pk, status=AbsenceWatch.Status.WATCHING
            ).update(status=AbsenceWatch.Status.FIRED, resolved_at=now)
            if claimed != 1:
                continue  # another worker's sweep took it
            start = watch.start_event
            came = DomainEvent.objects.filter(
                name=watch.missing_event,
                subject_type=watch.subject_type,
                subject_id=watch.subject_id,
                occurred_at__gte=start.occurred_at,
                occurred_at__lte=watch.due_at,
            ).exists()
            workflow = watch.version.workflow
            if came or not workflow.is_active:
                AbsenceWatch.objects.filter(pk=watch.pk).update(
                    status=AbsenceWatch.Status.CANCELLED
                )
                continue
            subject_id, subject = registry.subject_for_event(start, watch.version.subject_type)
            if subject is None:
                continue
            run = start_run(
                watch.version,
                trigger_key=f"absence:{watch.pk}",
                subject_type=watch.version.subject_type,
                subject_id=subject_id,
                subject=subject,
                event=start,
                depth=chain_depth(start),
                lateness=(now - watch.due_at).total_seconds(),
            )
            started += run is not None
    return started


# --- schedules ------------------------------------------------------------------------------


def next_fire_time(cron: str, after: dt.datetime, org: Organization | None = None) -> dt.datetime:
    """The first time after ``after`` that ``cron`` names, in the organization's time zone."""
    tz = Calendar.for_organization(org).tz
    local = after.astimezone(tz)
    following = croniter(cron, local).get_next(dt.datetime)
    return following.astimezone(dt.UTC)


def schedule_next(workflow: Workflow, now: dt.datetime | None = None) -> None:
    """Set (or clear) when a workflow's schedule is next due; after activation or an edit."""
    version = workflow.current_version
    if workflow.is_active and version is not None and version.trigger_type == TriggerType.SCHEDULE:
        workflow.next_fire_at = next_fire_time(
            version.definition["trigger"]["cron"], now or timezone.now()
        )
    else:
        workflow.next_fire_at = None
    Workflow.objects.filter(pk=workflow.pk).update(next_fire_at=workflow.next_fire_at)


def fire_due_schedules(now: dt.datetime | None = None) -> int:
    """Start the runs of every schedule that is due; returns how many runs started."""
    now = now or timezone.now()
    started = 0
    due = Workflow.objects.filter(
        is_active=True,
        current_version__trigger_type=TriggerType.SCHEDULE,
        next_fire_at__lte=now,
    ).select_related("current_version__workflow")
    for workflow in due:
        version = workflow.current_version
        was_due = workflow.next_fire_at
        following = next_fire_time(version.definition["trigger"]["cron"], now)
        lateness = (now - was_due).total_seconds()
        with transaction.atomic():
            claimed = Workflow.objects.filter(pk=workflow.pk, next_fire_at=was_due).update(
                next_fire_at=following, last_fired_at=now, last_lateness_seconds=lateness
            )
            if claimed != 1:
                continue  # another worker's sweep claimed this firing
            if lateness > LATE_AFTER_SECONDS:
                logger.warning(
                    "Schedule of workflow %s due at %s ran %.0f s late (missed while no "
                    "worker ran); running it once",
                    workflow.key,
                    was_due.isoformat(),
                    lateness,
                )
            started += _start_scheduled(version, f"schedule:{was_due.isoformat()}", lateness)
    return started


def _start_scheduled(version: WorkflowVersion, trigger_key: str, lateness: float) -> int:
    if not version.subject_type:
        return int(start_run(version, trigger_key=trigger_key, lateness=lateness) is not None)
    subject_spec = registry.subject_type(version.subject_type)
    if subject_spec is None:
        return 0
    started = 0
    records = subject_spec.all().order_by("pk")[: MAX_SUBJECTS_PER_SCHEDULED_RUN + 1]
    for index, subject in enumerate(records.iterator(chunk_size=500)):
        if index == MAX_SUBJECTS_PER_SCHEDULED_RUN:
            logger.warning(
                "Workflow %s: more than %d records; the rest wait for the next run",
                version.workflow.key,
                MAX_SUBJECTS_PER_SCHEDULED_RUN,
            )
            break
        run = start_run(
            version,
            trigger_key=trigger_key,
            subject_type=version.subject_type,
            subject_id=str(subject.pk),
            subject=subject,
            lateness=lateness,
        )
        started += run is not None
    return started
