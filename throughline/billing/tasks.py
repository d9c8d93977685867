"""Background jobs of billing: archiving issued documents, and the check for lost webhooks."""

from __future__ import annotations

import datetime as dt

from throughline.core.jobs import PermanentJobError, job
from throughline.core.scheduler import periodic


@job(max_attempts=5)
def archive_documents(invoice_id: str) -> str:
    """Render and keep the Factur-X PDF and UBL of an issued invoice (idempotent)."""
    from throughline.billing.models import Invoice, InvoiceDocument
    from throughline.billing.services import documents

    invoice = Invoice.objects.filter(pk=invoice_id).first()
    if invoice is None or invoice.is_draft:
        raise PermanentJobError(f"No issued invoice {invoice_id}")
    for kind in InvoiceDocument.Kind.values:
        documents.archived(invoice, kind)
    return "archived"


@periodic("billing.sync_checkout_sessions", every=dt.timedelta(minutes=10))
@job(max_attempts=1)
def sync_checkout_sessions() -> dict:
    """Record payments whose webhook never arrived (asks the gateway about open sessions)."""
    from throughline.billing.services import online

    return online.sync_open_sessions()


@periodic("billing.dunning_sweep", every=dt.timedelta(hours=1))
@job(max_attempts=3)
def dunning_sweep() -> dict:
    """Payment reminders, late fees and ``invoice.overdue`` for today (idempotent per day).

    Hourly, so a day is never missed however the worker's restarts fall; the ledger's unique
    keys make a second run on the same day a no-op."""
    from throughline.billing.services import dunning

    return dunning.sweep().as_dict()
