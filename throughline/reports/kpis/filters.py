from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from throughline.reports.common import start_of_day


@dataclass(frozen=True)
class Filters:
    """A period (``start`` … ``end``, both days included, organization time) and optional
    owner (user id) and lead source (slug)."""

    start: dt.date
    end: dt.date
    owner: str = ""
    source: str = ""

    @property
    def since(self) -> dt.datetime:
        return start_of_day(self.start)

    @property
    def until(self) -> dt.datetime:
        return start_of_day(self.end + dt.timedelta(days=1))
