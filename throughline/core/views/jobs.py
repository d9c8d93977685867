"""Failed background jobs (retry them) and the workers' heartbeats."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tasks_db.models import DBTaskResult

from throughline.core import jobs
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import WorkerHeartbeat

MAX_LISTED = 200


def _row(result: DBTaskResult) -> dict:
    exception = result.exception_class_path or ""
    return {
        "id": result.id,
        "task_path": result.task_path,
        "queue": result.queue_name,
        "attempts": jobs.attempts_of(result),
        "max_attempts": jobs.max_attempts_for(result.task_path),
        "error": exception.rsplit(".", 1)[-1],
        "error_path": exception,
        "traceback": result.traceback or "",
        "finished_at": result.finished_at,
        "enqueued_at": result.enqueued_at,
        "args": result.args_kwargs,
    }


@requires("jobs.manage")
def failed_jobs(request):
    now = timezone.now()
    stale_after = dt.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    heartbeats = [
        {"beat": beat, "fresh": beat.last_seen >= now - stale_after}
        for beat in WorkerHeartbeat.objects.order_by("-last_seen")[:50]
    ]
    counts = dict(
        DBTaskResult.objects.filter(status__in=[jobs.READY, jobs.RUNNING, jobs.FAILED])
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    failed = jobs.failed_jobs()
    context = {
        "jobs": [_row(r) for r in failed[:MAX_LISTED]],
        "failed_total": counts.get(jobs.FAILED, 0),
        "counts": {
            "ready": counts.get(jobs.READY, 0),
            "running": counts.get(jobs.RUNNING, 0),
            "failed": counts.get(jobs.FAILED, 0),
        },
        "heartbeats": heartbeats,
        "stale_seconds": settings.WORKER_HEARTBEAT_STALE_SECONDS,
    }
    return render(request, "core/failed_jobs.html", context)


@requires("jobs.manage")
@require_POST
def retry_job(request, pk):
    try:
        result = jobs.retry_failed_job(Actor.from_request(request), str(pk))
    except DBTaskResult.DoesNotExist:
        message = "That job is no longer failed (already retried, or removed)."
        if request.htmx:
            return render(request, "core/_job_retried.html", {"message": message, "ok": False})
        messages.info(request, message)
        return redirect("core:failed_jobs")
    message = f"{result.task_path} is queued again."
    if request.htmx:
        # Replace the row in place; the rest of the page stays as it is.
        return render(request, "core/_job_retried.html", {"message": message, "ok": True})
    messages.success(request, message)
    return redirect("core:failed_jobs")
