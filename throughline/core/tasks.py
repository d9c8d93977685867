"""Periodic housekeeping sweeps of the core app."""

import datetime as dt

from django.utils import timezone

from throughline.core.jobs import job
from throughline.core.models import IdempotencyRecord, WorkerHeartbeat
from throughline.core.scheduler import periodic


@periodic("core.prune_idempotency_keys", every=dt.timedelta(hours=1))
@job(max_attempts=3)
def prune_idempotency_keys() -> int:
    """Idempotency keys are honoured for 24 hours (as Stripe does)."""
    cutoff = timezone.now() - dt.timedelta(hours=24)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@periodic("core.prune_worker_heartbeats", every=dt.timedelta(hours=6))
@job(max_attempts=3)
def prune_worker_heartbeats() -> int:
    cutoff = timezone.now() - dt.timedelta(days=7)
    deleted, _ = WorkerHeartbeat.objects.filter(last_seen__lt=cutoff).delete()
    return deleted


@job(max_attempts=1)
def ping(payload: int = 0) -> int:
    """Does nothing: used to measure the job runner (bench/jobs.py) and to smoke-test a worker."""
    return payload
