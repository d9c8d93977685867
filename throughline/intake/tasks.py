"""Intake's background jobs: the every-minute first-response SLA sweep."""

import datetime as dt

from throughline.core.jobs import job
from throughline.core.scheduler import periodic
from throughline.intake import sla


@periodic("intake.sla_sweep", every=dt.timedelta(minutes=1))
@job(max_attempts=3)
def sla_sweep() -> int:
    """Breach every unanswered lead past its deadline (each once; see ``sla.breach_overdue``)."""
    total = 0
    while True:
        breached = sla.breach_overdue(limit=500)
        total += breached
        if breached < 500:
            return total
