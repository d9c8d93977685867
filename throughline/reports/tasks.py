"""Periodic sweep of reports: the weekly review digest (Monday 08:00, organization time).

The sweep runs every minute and does nothing until the digest is due; the review row is the
claim (``select_for_update`` on it), so two workers never send it twice."""

import datetime as dt

from throughline.core.jobs import job
from throughline.core.scheduler import periodic


@periodic("reports.weekly_review", every=dt.timedelta(minutes=1))
@job(max_attempts=3)
def weekly_review() -> int:
    from throughline.reports.review import weekly_sweep

    return weekly_sweep()
