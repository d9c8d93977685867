"""Background work of signing: the final seal, and the sweep for reminders and expiry.

Reminders are a sweep here rather than an automation sequence: each reminder carries the
signer's personal link, which only signing can mint at send time (services.notify), and our
countersigner is a user, not a CRM contact a sequence could enrol.
"""

from __future__ import annotations

import datetime as dt

from throughline.core.jobs import job
from throughline.core.scheduler import periodic
from throughline.signing.services import ceremony, sealing


@job(max_attempts=6)
def seal_request(request_id: str) -> str:
    """Seal a fully signed request once (idempotent: a sealed request returns early)."""
    return sealing.seal(request_id)


@periodic("signing.reminders_and_expiry", every=dt.timedelta(hours=1))
@job(max_attempts=3)
def signing_sweep() -> dict[str, int]:
    expired = ceremony.expire_due()
    reminded = ceremony.remind_due()
    return {"expired": expired, "reminded": reminded}
