"""Periodic sweeps of the sales app: proposal expiry and the reminder before it."""

from __future__ import annotations

import datetime as dt

from throughline.core import public_tokens
from throughline.core.jobs import job
from throughline.core.scheduler import periodic
from throughline.sales.services import acceptance


@periodic("sales.proposal_expiry", every=dt.timedelta(hours=1))
@job(max_attempts=3)
def proposal_expiry_sweep() -> dict[str, int]:
    """Remind clients a few days before a proposal expires; expire the ones past their date.

    Idempotent: reminders are claimed per version, expiry checks the status under a lock.
    """
    reminded = acceptance.remind_expiring()
    expired = acceptance.expire_due()
    return {"reminded": reminded, "expired": expired}


@periodic("sales.purge_expired_links", every=dt.timedelta(days=1))
@job(max_attempts=3)
def purge_expired_links() -> int:
    return public_tokens.purge_expired()
