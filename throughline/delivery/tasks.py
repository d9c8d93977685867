"""Delivery's periodic sweeps."""

from __future__ import annotations

import datetime as dt

from throughline.core.actor import Actor
from throughline.core.jobs import job
from throughline.core.models import Channel
from throughline.core.scheduler import periodic
from throughline.delivery.services import retainers


@periodic("delivery.retainer_periods", every=dt.timedelta(hours=1))
@job(max_attempts=3)
def open_retainer_periods() -> str:
    opened = retainers.open_due_periods(Actor.system(Channel.WORKER, label="retainer periods"))
    return f"{len(opened)} periods opened"
