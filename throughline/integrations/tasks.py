"""Periodic sweeps of this app (core.scheduler)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from throughline.core.jobs import job
from throughline.core.scheduler import periodic
from throughline.integrations import conf, health, services
from throughline.integrations.models import WebhookDelivery


@periodic("integrations.health_sweep", every=dt.timedelta(minutes=5))
@job(max_attempts=3)
def sweep_integration_health() -> dict[str, str]:
    """Re-evaluate every integration (alerts on changes into degraded/down)."""
    return health.sweep()


@periodic("integrations.prune_webhook_log", every=dt.timedelta(hours=6))
@job(max_attempts=3)
def prune_webhook_log() -> int:
    """Forget expired rotated secrets and finished deliveries past their retention."""
    now = timezone.now()
    services.expire_previous_secrets(now)
    cutoff = now - dt.timedelta(days=float(conf.get("WEBHOOK_LOG_RETENTION_DAYS")))
    deleted, _ = (
        WebhookDelivery.objects.exclude(status=WebhookDelivery.Status.PENDING)
        .filter(completed_at__lt=cutoff)
        .delete()
    )
    return deleted
