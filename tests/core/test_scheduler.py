import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from throughline.core import scheduler
from throughline.core.models import ScheduleState


@pytest.fixture
def only_core_sweeps():
    names = set(scheduler.registered())
    assert "core.prune_idempotency_keys" in names
    return names


@pytest.mark.django_db
def test_a_due_sweep_is_enqueued_once_per_period(only_core_sweeps):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = scheduler.tick()
        again = scheduler.tick()
    assert "core.prune_idempotency_keys" in first
    assert again == []  # a second worker ticking at the same time gets nothing
    assert DBTaskResult.objects.filter(task_path__endswith="prune_idempotency_keys").count() == 1

    with time_machine.travel(start + dt.timedelta(minutes=59), tick=False):
        assert "core.prune_idempotency_keys" not in scheduler.tick()
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert "core.prune_idempotency_keys" in scheduler.tick()


@pytest.mark.django_db
def test_after_downtime_a_missed_sweep_runs_once_late(only_core_sweeps):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        scheduler.tick()
    enqueued_before = DBTaskResult.objects.filter(
        task_path__endswith="prune_idempotency_keys"
    ).count()

    # The worker was stopped for two days: 48 hourly ticks were missed.
    with time_machine.travel(start + dt.timedelta(days=2), tick=False):
        assert "core.prune_idempotency_keys" in scheduler.tick()
        assert "core.prune_idempotency_keys" not in scheduler.tick()
    enqueued_after = DBTaskResult.objects.filter(
        task_path__endswith="prune_idempotency_keys"
    ).count()
    assert enqueued_after - enqueued_before == 1
    state = ScheduleState.objects.get(name="core.prune_idempotency_keys")
    assert state.last_lateness_seconds == pytest.approx(2 * 86400 - 3600, abs=1)
    assert state.next_run_at == start + dt.timedelta(days=2, hours=1)
