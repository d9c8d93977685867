"""Durable execution: a run is a ledger of steps, and every step is a job.

How a step has its effect exactly once, even when its job is delivered twice or its worker
is killed half-way (jobs are at-least-once, core.jobs):

1. ``_begin_attempt`` locks the ``StepRun``, returns early if it is already done, and
   otherwise commits ``attempts + 1`` and RUNNING. The attempt number is the token of this
   delivery.
2. ``_execute`` locks the row again in a new transaction and goes on only if it still holds
   the latest attempt (a duplicate delivery that began later has superseded it). The
   action's effect, the SUCCEEDED status, the next ``StepRun`` and the next step's job all
   commit together. A crash before that commit leaves nothing; the reaped job runs again.
3. A failure is recorded on the row (error, RETRYING) and re-raised, so core.jobs retries it
   with backoff and jitter. After ``AUTOMATION_STEP_MAX_ATTEMPTS`` attempts — or at once for
   a permanent error — the step is dead-lettered: the run is FAILED, admins are alerted in
   the app and by e-mail, and the step can be retried from the run page.

Each StepRun carries an ``idempotency_key`` unique per (workflow version, trigger, subject,
step), which actions hand to the ledgers they write to (an e-mail's ``idempotency_key``).

Loop guard: events a step emits are recorded as ``CausedEvent`` with depth + 1; a trigger at
``AUTOMATION_MAX_CHAIN_DEPTH`` or a subject that already had
``AUTOMATION_MAX_RUNS_PER_SUBJECT_PER_HOUR`` runs of the workflow gets a BLOCKED run instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from throughline.automation import notifications, registry
from throughline.automation.business_days import Calendar
from throughline.automation.models import CausedEvent, StepRun, WorkflowRun, WorkflowVersion
from throughline.automation.workflows.conditions import Evaluator, coerce, field_specs
from throughline.automation.workflows.definition import max_chain_depth
from throughline.core import audit_log, jobs
from throughline.core.actor import Actor
from throughline.core.jobs import PermanentJobError, job
from throughline.core.models import Channel, DomainEvent, Organization

logger = logging.getLogger(__name__)

LATE_AFTER_SECONDS = 120  # the sweeps run every minute; later than this means downtime
STEP_JOB_ATTEMPTS = 50  # a backstop only: the engine dead-letters after step_max_attempts()


def step_max_attempts() -> int:
    return getattr(settings, "AUTOMATION_STEP_MAX_ATTEMPTS", 5)


def max_runs_per_subject_per_hour() -> int:
    return getattr(settings, "AUTOMATION_MAX_RUNS_PER_SUBJECT_PER_HOUR", 20)


def system_actor(workflow_key: str) -> Actor:
    return Actor.system(Channel.WORKER, label=f"workflow {workflow_key}"[:200])


def run_url(run: WorkflowRun) -> str:
    return reverse("automation:run_detail", args=[run.pk])


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


# --- which events a step caused (chain depth for the loop guard) ---------------------------

_captured: ContextVar[list[int] | None] = ContextVar("automation_captured_events", default=None)


def _on_event_saved(sender, instance: DomainEvent, created: bool, **kwargs) -> None:
    # Bookkeeping only: note the ids of events emitted while a step's action runs.
    bucket = _captured.get()
    if created and bucket is not None:
        bucket.append(instance.pk)


def connect_event_capture() -> None:
    post_save.connect(_on_event_saved, sender=DomainEvent, dispatch_uid="automation.capture")


@contextmanager
def capture_events() -> Iterator[list[int]]:
    bucket: list[int] = []
    token = _captured.set(bucket)
    try:
        yield bucket
    finally:
        _captured.reset(token)


def chain_depth(event: DomainEvent) -> int:
    caused = CausedEvent.objects.filter(event_id=event.pk).values_list("depth", flat=True).first()
    return max(event.depth, caused or 0)


# --- starting a run -------------------------------------------------------------------------


def start_run(
    version: WorkflowVersion,
    *,
    trigger_key: str,
    subject_type: str = "",
    subject_id: str = "",
    subject: Any = None,
    event: DomainEvent | None = None,
    depth: int = 0,
    lateness: float = 0.0,
) -> WorkflowRun | None:
    """Evaluate the conditions and start a run; call inside the trigger's transaction.

    Returns None when the conditions do not match; an existing run when this trigger
    already started one for this subject (the unique constraint makes triggers idempotent).
    """
    workflow = version.workflow
    definition = version.definition
    if definition.get("conditions"):
        evaluator = Evaluator(subject_type, subject, event.payload if event else None)
        if not evaluator.matches(definition["conditions"]):
            return None
    existing = WorkflowRun.objects.filter(
        version=version, trigger_key=trigger_key, subject_type=subject_type, subject_id=subject_id
    ).first()
    if existing is not None:
        return existing
    status, reason = WorkflowRun.Status.RUNNING, ""
    limit = max_chain_depth()
    if depth >= limit:
        status = WorkflowRun.Status.BLOCKED
        reason = (
            f"Loop guard: this trigger is {depth} workflow steps deep in a chain of workflows "
            f"triggering one another (limit {limit})."
        )
    elif subject_id:
        per_hour = max_runs_per_subject_per_hour()
        recent = (
            WorkflowRun.objects.filter(
                workflow=workflow,
                subject_type=subject_type,
                subject_id=subject_id,
                created_at__gte=timezone.now() - dt.timedelta(hours=1),
            )
            .exclude(status=WorkflowRun.Status.BLOCKED)
            .count()
        )
        if recent >= per_hour:
            status = WorkflowRun.Status.BLOCKED
            reason = (
                f"Loop guard: {recent} runs for this record in the last hour (limit {per_hour})."
            )
    try:
        with transaction.atomic():
            run = WorkflowRun.objects.create(
                workflow=workflow,
                version=version,
                trigger_key=trigger_key[:100],
                event=event,
                subject_type=subject_type,
                subject_id=subject_id,
                subject_repr=str(subject)[:200] if subject is not None else "",
                depth=depth,
                status=status,
                status_reason=reason,
                lateness_seconds=max(0.0, lateness),
                finished_at=timezone.now() if status == WorkflowRun.Status.BLOCKED else None,
            )
    except IntegrityError:
        return WorkflowRun.objects.get(
            version=version,
            trigger_key=trigger_key[:100],
            subject_type=subject_type,
            subject_id=subject_id,
        )
    if status == WorkflowRun.Status.BLOCKED:
        logger.warning(
            "Workflow %s blocked for %s:%s: %s", workflow.key, subject_type, subject_id, reason
        )
        hour = timezone.now().strftime("%Y%m%d%H")
        notifications.alert_admins(
            f"Workflow “{workflow.name}” stopped by the loop guard",
            reason,
            url=run_url(run),
            dedupe_key=f"loop-guard:{workflow.pk}:{hour}",
        )
        return run
    if lateness > LATE_AFTER_SECONDS:
        logger.warning(
            "Workflow %s started %.0f s late (fell due while no worker ran)", workflow.key, lateness
        )
    create_step(run, 0, timezone.now())
    return run


def idempotency_key(run: WorkflowRun, step_id: str) -> str:
    key = f"wf{run.version_id}/{run.trigger_key}/{run.subject_type}:{run.subject_id}/{step_id}"
    if len(key) <= 200:
        return key
    return f"wf{run.version_id}/{hashlib.sha256(key.encode()).hexdigest()}/{step_id}"


def create_step(run: WorkflowRun, index: int, after: dt.datetime) -> StepRun | None:
    """Add step ``index`` to the run and enqueue its job (at its due time for a wait)."""
    steps = run.version.steps
    if index >= len(steps):
        run.status = WorkflowRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "finished_at", "updated_at"])
        return None
    spec = steps[index]
    action = registry.action(spec["action"])
    scheduled_for, note = None, ""
    if action is not None and action.is_wait:
        subject = registry.resolve_subject(run.subject_type, run.subject_id)
        scheduled_for, note = wait_until(spec.get("params") or {}, run.subject_type, subject, after)
    waiting = scheduled_for is not None and scheduled_for > after
    step = StepRun.objects.create(
        run=run,
        index=index,
        step_id=spec["id"],
        action=spec["action"],
        idempotency_key=idempotency_key(run, spec["id"]),
        status=StepRun.Status.WAITING if waiting else StepRun.Status.PENDING,
        input=jsonable(spec.get("params") or {}),
        output={"note": note} if note else {},
        scheduled_for=scheduled_for or after,
    )
    task = run_step.using(run_after=scheduled_for) if waiting else run_step
    result = task.enqueue(step.pk)
    step.job_id = str(result.id)
    step.save(update_fields=["job_id"])
    new_status = WorkflowRun.Status.WAITING if waiting else WorkflowRun.Status.RUNNING
    if run.status != new_status:
        run.status = new_status
        run.save(update_fields=["status", "updated_at"])
    return step


def wait_until(
    params: dict, subject_type: str, subject: Any, after: dt.datetime
) -> tuple[dt.datetime | None, str]:
    """When a wait step that starts at ``after`` is over; (None, why) when it does not wait."""
    if params.get("until_field"):
        spec = field_specs(subject_type).get(params["until_field"])
        raw = spec.value_of(subject) if (spec and subject is not None) else None
        try:
            value = coerce(raw, spec.type) if spec else None
        except ValueError:
            value = None
        if value is None:
            return None, f"{params['until_field']} is empty: no wait"
        calendar = Calendar.for_organization()
        if not isinstance(value, dt.datetime):
            at = dt.time.fromisoformat(params.get("at") or "09:00")
            value = dt.datetime.combine(value, at, tzinfo=calendar.tz)
        value += dt.timedelta(days=params.get("offset_days") or 0)
        if value <= after:
            return None, f"{params['until_field']} ({value.isoformat()}) has passed: no wait"
        return value, ""
    if params.get("business_days"):
        return Calendar.for_organization().add_business_days(after, params["business_days"]), ""
    delta = dt.timedelta(
        days=params.get("days") or 0,
        hours=params.get("hours") or 0,
        minutes=params.get("minutes") or 0,
    )
    return after + delta, ""


# --- running a step -------------------------------------------------------------------------


def merge_context(subject_type: str, subject: Any, event: DomainEvent | None) -> dict:
    spec = registry.subject_type(subject_type) if subject_type else None
    contact = (
        spec.contact_of(subject) if (spec and spec.contact_of and subject is not None) else None
    )
    owner = spec.owner_of(subject) if (spec and spec.owner_of and subject is not None) else None
    return {
        "subject": subject,
        "contact": contact,
        "owner": owner,
        "event": (event.payload if event else {}) or {},
        "organization": Organization.current(),
    }


def render_params(action: registry.Action, params: dict, context: dict) -> dict:
    """Fill merge fields ({{ subject.first_name }}) in the text parameters."""
    from throughline.messaging.rendering import render_string

    rendered = dict(params)
    for param in action.params:
        value = rendered.get(param.name)
        if param.type in {"text", "longtext"} and isinstance(value, str) and "{" in value:
            text = render_string(value, context, html=False)
            rendered[param.name] = " ".join(text.split()) if param.type == "text" else text
    return rendered


@job(queue_name="default", max_attempts=STEP_JOB_ATTEMPTS)
def run_step(step_run_id: int) -> str:
    """Run one workflow step once (see the module docstring)."""
    begun = _begin_attempt(step_run_id)
    if isinstance(begun, str):
        return begun
    try:
        return _execute(step_run_id, begun)
    except Exception as exc:
        dead = _record_failure(step_run_id, begun, exc)
        if dead:
            raise PermanentJobError(f"Workflow step {step_run_id} dead-lettered: {exc}") from exc
        raise


def _begin_attempt(step_run_id: int) -> int | str:
    with transaction.atomic():
        step = (
            StepRun.objects.select_for_update(of=("self",))
            .select_related("run__version", "run__event")
            .filter(pk=step_run_id)
            .first()
        )
        if step is None:
            raise PermanentJobError(f"Workflow step {step_run_id} does not exist")
        if step.status in StepRun.FINAL:
            return f"already {step.status}"
        now = timezone.now()
        run = step.run
        if step.status == StepRun.Status.DEAD:
            # Its failed job was sent back by an admin (core Jobs page): a fresh budget.
            step.attempts = 0
            WorkflowRun.objects.filter(pk=run.pk).update(
                status=WorkflowRun.Status.RUNNING, status_reason="", finished_at=None
            )
        step.attempts += 1
        step.status = StepRun.Status.RUNNING
        if step.started_at is None:
            step.started_at = now
            due = step.scheduled_for or step.created_at
            step.lateness_seconds = max(0.0, (now - due).total_seconds())
        action = registry.action(step.action)
        if action is not None and not action.is_wait and step.attempts == 1 and run.subject_type:
            subject = registry.resolve_subject(run.subject_type, run.subject_id)
            if subject is not None:
                context = merge_context(run.subject_type, subject, run.event)
                step.input = jsonable(render_params(action, step.input or {}, context))
        step.save()
        return step.attempts


def _execute(step_run_id: int, attempt: int) -> str:
    with transaction.atomic():
        step = (
            StepRun.objects.select_for_update(of=("self",))
            .select_related("run__version", "run__workflow", "run__event")
            .get(pk=step_run_id)
        )
        if step.status != StepRun.Status.RUNNING or step.attempts != attempt:
            return "superseded by a later delivery of the same step"
        run = step.run
        now = timezone.now()
        if run.status in {WorkflowRun.Status.CANCELLED, WorkflowRun.Status.BLOCKED}:
            _finish(step, StepRun.Status.CANCELLED, {"note": f"run {run.status}"}, now)
            return "cancelled"
        action = registry.action(step.action)
        if action is None:
            raise PermanentJobError(f"Action {step.action!r} is not registered (any more)")
        subject = None
        if run.subject_type:
            subject = registry.resolve_subject(run.subject_type, run.subject_id)
            if subject is None:
                _finish(step, StepRun.Status.CANCELLED, {"note": "the record is gone"}, now)
                cancel(run, "The record this run was about no longer exists.")
                return "subject gone"
        if action.is_wait:
            output = {
                "waited_until": step.scheduled_for,
                "late_by_seconds": round(step.lateness_seconds),
            }
            if step.lateness_seconds > LATE_AFTER_SECONDS:
                logger.warning(
                    "Wait %s of workflow %s ended %.0f s late (fell due while no worker ran)",
                    step.step_id,
                    run.workflow.key,
                    step.lateness_seconds,
                )
        else:
            ctx = registry.ActionContext(
                actor=system_actor(run.workflow.key),
                subject_type=run.subject_type,
                subject=subject,
                event=run.event,
                run=run,
                step_id=step.step_id,
                idempotency_key=step.idempotency_key,
                now=now,
            )
            with capture_events() as emitted:
                output = action.fn(ctx, dict(step.input or {})) or {}
            if emitted:
                CausedEvent.objects.bulk_create(
                    [CausedEvent(event_id=e, step=step, depth=run.depth + 1) for e in emitted]
                )
        _finish(step, StepRun.Status.SUCCEEDED, output, now)
        create_step(run, step.index + 1, timezone.now())
        return "done"


def _finish(step: StepRun, status: str, output: dict, now: dt.datetime) -> None:
    step.status = status
    step.output = jsonable({**(step.output or {}), **output})
    step.error = "" if status == StepRun.Status.SUCCEEDED else step.error
    step.finished_at = now
    step.save(update_fields=["status", "output", "error", "finished_at"])


PERMANENT_ERRORS = (PermanentJobError, ValidationError, ObjectDoesNotExist, LookupError)


def _record_failure(step_run_id: int, attempt: int, exc: BaseException) -> bool:
    """Record the error; dead-letter and alert when retrying cannot or may no longer help."""
    text = "".join(traceback.format_exception_only(exc)).strip()
    detail = "".join(traceback.format_exception(exc))[-4000:]
    with transaction.atomic():
        step = (
            StepRun.objects.select_for_update(of=("self",))
            .select_related("run__workflow")
            .get(pk=step_run_id)
        )
        if step.attempts != attempt or step.status != StepRun.Status.RUNNING:
            return False
        run = step.run
        step.error = f"{text}\n\n{detail}"
        permanent = isinstance(exc, PERMANENT_ERRORS)
        if not permanent and step.attempts < step_max_attempts():
            step.status = StepRun.Status.RETRYING
            step.save(update_fields=["status", "error"])
            logger.warning(
                "Workflow %s step %s attempt %d failed, will retry: %s",
                run.workflow.key,
                step.step_id,
                step.attempts,
                text,
            )
            return False
        now = timezone.now()
        step.status = StepRun.Status.DEAD
        step.finished_at = now
        step.save(update_fields=["status", "error", "finished_at"])
        why = "a permanent error" if permanent else f"{step.attempts} attempts"
        run.status = WorkflowRun.Status.FAILED
        run.status_reason = f"Step “{step.step_id}” dead-lettered after {why}: {text}"[:300]
        run.finished_at = now
        run.save(update_fields=["status", "status_reason", "finished_at", "updated_at"])
        logger.error("Workflow %s step %s dead-lettered: %s", run.workflow.key, step.step_id, text)
        notifications.alert_admins(
            f"Workflow “{run.workflow.name}”: step “{step.step_id}” failed",
            f"{run.status_reason}\n\nRecord: {run.subject_repr or '—'}. "
            "Fix the cause, then retry the step from the run page.",
            url=run_url(run),
            dedupe_key=f"dead-step:{step.pk}:{int(now.timestamp())}",
        )
        return True


# --- what staff do with runs ----------------------------------------------------------------


@transaction.atomic
def retry_step(actor: Actor, step_id: int) -> StepRun:
    """Send a dead-lettered step back to the queue with a fresh retry budget."""
    step = (
        StepRun.objects.select_for_update(of=("self",))
        .select_related("run")
        .filter(pk=step_id)
        .first()
    )
    if step is None or step.status != StepRun.Status.DEAD:
        raise ValidationError("Only a dead-lettered step can be retried.")
    step.status = StepRun.Status.PENDING
    step.attempts = 0
    step.finished_at = None
    failed_job = DBTaskResult.objects.filter(id=step.job_id or None, status=jobs.FAILED).first()
    if failed_job is not None:
        jobs.retry_failed_job(actor, str(failed_job.id))
    else:
        step.job_id = str(run_step.enqueue(step.pk).id)
    step.save(update_fields=["status", "attempts", "finished_at", "job_id"])
    run = step.run
    run.status, run.status_reason, run.finished_at = WorkflowRun.Status.RUNNING, "", None
    run.save(update_fields=["status", "status_reason", "finished_at", "updated_at"])
    audit_log.record(
        actor,
        "workflow.step_retried",
        object_type="automation.steprun",
        object_id=str(step.pk),
        object_repr=f"{run.workflow} › {step.step_id}"[:200],
        changes={"status": [StepRun.Status.DEAD, StepRun.Status.PENDING]},
    )
    return step


def cancel(run: WorkflowRun, reason: str) -> None:
    run.status = WorkflowRun.Status.CANCELLED
    run.status_reason = reason[:300]
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "status_reason", "finished_at", "updated_at"])
    run.steps.filter(
        status__in=[StepRun.Status.WAITING, StepRun.Status.PENDING, StepRun.Status.RETRYING]
    ).update(status=StepRun.Status.CANCELLED, finished_at=run.finished_at)


@transaction.atomic
def cancel_run(actor: Actor, run_id) -> WorkflowRun:
    run = WorkflowRun.objects.select_for_update().get(pk=run_id)
    open_states = {
        WorkflowRun.Status.RUNNING,
        WorkflowRun.Status.WAITING,
        WorkflowRun.Status.FAILED,
    }
    if run.status not in open_states:
        raise ValidationError("This run has already ended.")
    before = run.status
    cancel(run, f"Cancelled by {actor.display}.")
    audit_log.record(
        actor,
        "workflow.run_cancelled",
        run,
        object_type="automation.workflowrun",
        changes={"status": [before, run.status]},
    )
    return run
