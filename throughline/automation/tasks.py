"""Periodic sweeps of automation, run through the core scheduler (claimed once per tick).

Step and sequence jobs carry their own due time (``run_after``); these sweeps only fire
schedule triggers and absence watches that fell due.
"""

import datetime as dt

from throughline.automation.workflows.triggers import fire_due_absences, fire_due_schedules
from throughline.core.jobs import job
from throughline.core.scheduler import periodic


@periodic("automation.schedules", every=dt.timedelta(minutes=1))
@job(max_attempts=3)
def fire_schedules() -> int:
    return fire_due_schedules()


@periodic("automation.absences", every=dt.timedelta(minutes=1))
@job(max_attempts=3)
def fire_absences() -> int:
    return fire_due_absences()
