"""Periodic sweeps: a registry of (name, interval, job) and a claim-once tick.

Every worker calls ``tick()`` now and then. A sweep that is due is claimed with a conditional
UPDATE on its ``ScheduleState`` row (only one worker wins), its job is enqueued in the same
transaction, and the next due time is computed from *now*: after downtime a missed sweep
runs once, late (the lateness is logged and kept), never once per missed tick.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core.models import ScheduleState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every: dt.timedelta
    task: Any  # a django-tasks Task


_registry: dict[str, Periodic] = {}


def periodic(name: str, every: dt.timedelta):
    """Decorator on a ``@job`` task: run it every ``every``."""

    def register(task: Any) -> Any:
        _registry[name] = Periodic(name=name, every=every, task=task)
        return task

    return register


def registered() -> dict[str, Periodic]:
    return dict(_registry)


def tick(now: dt.datetime | None = None) -> list[str]:
    """Enqueue every due sweep exactly once across all workers; return the names enqueued."""
    now = now or timezone.now()
    enqueued = []
    for item in _registry.values():
        state = ScheduleState.objects.filter(name=item.name).first()
        if state is None:
            try:
                with transaction.atomic():
                    ScheduleState.objects.create(name=item.name, next_run_at=now)
            except IntegrityError:
                pass  # another worker created it first
            state = ScheduleState.objects.get(name=item.name)
        if state.next_run_at > now:
            continue
        lateness = (now - state.next_run_at).total_seconds()
        with transaction.atomic():
            claimed = ScheduleState.objects.filter(
                name=item.name, next_run_at=state.next_run_at
            ).update(next_run_at=now + item.every, last_run_at=now, last_lateness_seconds=lateness)
            if claimed != 1:
                continue
            item.task.enqueue()
        if lateness > item.every.total_seconds():
            logger.warning("Sweep %s ran %.0f s late (missed while stopped)", item.name, lateness)
        enqueued.append(item.name)
    return enqueued
