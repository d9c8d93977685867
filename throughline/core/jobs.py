"""Durable jobs on the Django tasks API (``django-tasks`` + ``django-tasks-db``).

The library stores one ``DBTaskResult`` row per job and gives us enqueueing inside the
caller's transaction. We add what it lacks, in one place:

* ``@job(max_attempts=…)`` declares a task and its retry budget;
* failures are retried with exponential backoff and full jitter by putting the same row back
  to READY with a later ``run_after`` (attempts = number of claims, ``worker_ids``);
* ``PermanentJobError`` skips retries; a job that exhausts its budget stays FAILED, is listed
  on the failed-jobs page and can be retried by an admin (``retry_failed_job``);
* rows left RUNNING by a killed worker are handed back after their lease (``reap_stale_jobs``).

Tasks receive ids, reload, and must be idempotent: a job may run more than once.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task as _task
from django_tasks_db.compat import normalize_json
from django_tasks_db.models import DBTaskResult, get_date_max

from throughline.core import audit_log, bulk_insert
from throughline.core.actor import Actor
from throughline.core.deferred import Deferral
from throughline.core.models import WorkerHeartbeat

READY, RUNNING, FAILED, SUCCESSFUL = "READY", "RUNNING", "FAILED", "SUCCESSFUL"

_max_attempts: dict[str, int] = {}


class PermanentJobError(Exception):
    """Raised by a job when retrying cannot help (bad input, missing record…)."""


def job(
    *, queue_name: str = "default", priority: int = 0, max_attempts: int | None = None
) -> Callable:
    """Declare a background job: ``@job(max_attempts=3) def send_x(x_id): …``."""

    def decorate(fn: Callable) -> Any:
        task = _task(queue_name=queue_name, priority=priority)(fn)
        _max_attempts[task.module_path] = max_attempts or settings.JOB_DEFAULT_MAX_ATTEMPTS
        return task

    return decorate


def enqueue(task: Any, *args: Any) -> None:
    """``task.enqueue(*args)``; inside ``batch()`` the job is written when the batch ends."""
    if not _batched.add([(task, args)]):
        task.enqueue(*args)


def enqueue_many(task: Any, args_list: list[tuple]) -> None:
    """Enqueue ``task`` once per argument tuple with one insert (what ``task.enqueue`` writes)."""
    items = [(task, args) for args in args_list]
    if items and not _batched.add(items):
        _write(items)


def batch():
    """``with jobs.batch():`` — jobs enqueued inside (``enqueue``, ``enqueue_many``) are
    written with one insert when it ends, inside the caller's transaction (``core.deferred``).
    """
    return _batched.scope()


def _write(items: list[tuple[Any, tuple]]) -> None:
    rows = []
    for task, args in items:
        backend = task.get_backend()
        rows.append(
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs=normalize_json({"args": list(args), "kwargs": {}}),
                priority=task.priority,
                task_path=task.module_path,
                queue_name=task.queue_name,
                run_after=task.run_after or get_date_max(),  # what the pre_save hook sets
                backend_name=backend.alias,
            )
        )
    bulk_insert.insert(rows, batch_size=500)


_batched = Deferral("throughline_jobs_batch", _write)


def max_attempts_for(task_path: str) -> int:
    return _max_attempts.get(task_path, settings.JOB_DEFAULT_MAX_ATTEMPTS)


def backoff_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, with full jitter."""
    ceiling = min(
        settings.JOB_BACKOFF_MAX_SECONDS, settings.JOB_BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)


def attempts_of(result: DBTaskResult) -> int:
    return len(result.worker_ids or [])


def record_failure(result: DBTaskResult, exc: BaseException, traceback_text: str) -> bool:
    """Retry later or fail for good. Returns True when a retry was scheduled."""
    attempt = attempts_of(result)
    result.exception_class_path = f"{type(exc).__module__}.{type(exc).__qualname__}"
    result.traceback = traceback_text
    permanent = isinstance(exc, PermanentJobError)
    if not permanent and attempt < max_attempts_for(result.task_path):
        result.status = READY
        result.run_after = timezone.now() + dt.timedelta(seconds=backoff_delay(attempt))
        result.save(update_fields=["status", "run_after", "exception_class_path", "traceback"])
        return True
    result.status = FAILED
    result.finished_at = timezone.now()
    result.save(update_fields=["status", "finished_at", "exception_class_path", "traceback"])
    return False


def failed_jobs():
    return DBTaskResult.objects.filter(status=FAILED).order_by("-finished_at")


@transaction.atomic
def retry_failed_job(actor: Actor, result_id: str) -> DBTaskResult:
    """An admin sends a failed job back to the queue with a fresh retry budget."""
    result = DBTaskResult.objects.select_for_update().get(id=result_id, status=FAILED)
    result.status = READY
    result.run_after = get_date_max()
    result.worker_ids = []
    result.finished_at = None
    result.save(update_fields=["status", "run_after", "worker_ids", "finished_at"])
    audit_log.record(
        actor,
        "job.retried",
        object_type="tasks.job",
        object_id=str(result.id),
        object_repr=result.task_path,
        changes={"status": [FAILED, READY]},
    )
    return result


def reap_stale_jobs(now: dt.datetime | None = None) -> int:
    """Give RUNNING jobs of dead workers back to the queue (at-least-once delivery)."""
    now = now or timezone.now()
    stale_after = dt.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    alive = set(
        WorkerHeartbeat.objects.filter(last_seen__gte=now - stale_after).values_list(
            "worker_id", flat=True
        )
    )
    reaped = 0
    for result in DBTaskResult.objects.filter(status=RUNNING).only("id", "worker_ids"):
        owner = (result.worker_ids or [None])[-1]
        if owner in alive:
            continue
        reaped += DBTaskResult.objects.filter(id=result.id, status=RUNNING).update(
            status=READY, run_after=now
        )
    return reaped
