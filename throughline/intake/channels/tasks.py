"""The channels' background jobs: the CSV import run and the periodic IMAP sweep."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.core.jobs import PermanentJobError, job
from throughline.core.models import Channel
from throughline.core.scheduler import periodic
from throughline.intake.channels import csv_import, imap
from throughline.intake.channels.models import CsvImport, WebhookDelivery

logger = logging.getLogger(__name__)

DELIVERY_RETENTION = dt.timedelta(days=30)


@job(max_attempts=3)
def run_csv_import(import_id: str) -> str:
    """Run a queued import. Safe to repeat: rows captured before are found by external id."""
    imp = CsvImport.objects.select_related("created_by").filter(pk=import_id).first()
    if imp is None:
        raise PermanentJobError(f"Import {import_id} no longer exists")
    if imp.status not in {CsvImport.Status.QUEUED, CsvImport.Status.RUNNING}:
        return f"import is {imp.status}"
    actor = Actor(user=imp.created_by, channel=Channel.WORKER, label="CSV import")
    try:
        result = csv_import.run(imp, actor)
    except (ValidationError, csv_import.ImportError_) as exc:
        message = "; ".join(getattr(exc, "messages", [str(exc)]))
        csv_import.fail(imp, actor, message)
        return f"failed: {message}"
    return f"{result['created']} created, {result['linked']} linked"


@periodic("intake_channels.imap_sweep", every=dt.timedelta(minutes=2))
@job(max_attempts=1)
def imap_sweep() -> str:
    """Fetch new mail of every mailbox with IMAP on (errors are kept on the mailbox)."""
    results = imap.poll_all()
    for result in results:
        logger.info("IMAP sweep: %s", result.summary())
    return "; ".join(r.summary() for r in results) or "no IMAP mailbox"


@periodic("intake_channels.prune_deliveries", every=dt.timedelta(hours=6))
@job(max_attempts=3)
def prune_deliveries() -> int:
    """Forget webhook bodies after 30 days (replays older than that are refused by timestamp
    or caught by the payload's own lead id)."""
    cutoff = timezone.now() - DELIVERY_RETENTION
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted
