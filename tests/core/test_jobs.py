import datetime as dt

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.core import jobs_for_tests
from throughline.core import jobs
from throughline.core.models import AuditEntry


def _later(hours: float = 7):
    return time_machine.travel(timezone.now() + dt.timedelta(hours=hours), tick=True)


@pytest.mark.django_db
def test_job_failing_twice_then_succeeding(tmp_path, run_jobs):
    counter = tmp_path / "calls"
    result = jobs_for_tests.flaky.enqueue(str(counter), 2)

    run_jobs()  # attempt 1 fails, retry scheduled with backoff
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == jobs.READY
    assert row.exception_class_path == "builtins.ConnectionError"
    assert row.run_after > timezone.now()  # backed off, not immediately re-run
    assert counter.read_text() == "1"

    with _later(1):
        run_jobs()  # attempt 2 fails
    with _later(3):
        run_jobs()  # attempt 3 succeeds
    row.refresh_from_db()
    assert row.status == jobs.SUCCESSFUL
    assert row.return_value == 3
    assert jobs.attempts_of(row) == 3
    assert counter.read_text() == "3"


@pytest.mark.django_db
def test_job_exhausting_retries_is_kept_failed_and_can_be_retried(run_jobs, actor):
    result = jobs_for_tests.always_fails.enqueue()
    for hours in (0, 7, 14):
        with _later(hours):
            run_jobs()
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == jobs.FAILED
    assert jobs.attempts_of(row) == 3
    assert "the receiving end is gone" in row.traceback
    assert list(jobs.failed_jobs()) == [row]

    jobs.retry_failed_job(actor, str(row.id))
    row.refresh_from_db()
    assert row.status == jobs.READY and row.worker_ids == []
    assert AuditEntry.objects.filter(action="job.retried", object_id=str(row.id)).exists()


@pytest.mark.django_db
def test_permanent_error_is_not_retried(run_jobs):
    result = jobs_for_tests.permanently_bad.enqueue()
    run_jobs()
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == jobs.FAILED
    assert jobs.attempts_of(row) == 1


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.JOB_BACKOFF_BASE_SECONDS = 10
    settings.JOB_BACKOFF_MAX_SECONDS = 3600
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (12, 3600)]:
        delays = {jobs.backoff_delay(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered


@pytest.mark.django_db
def test_enqueue_rolls_back_with_the_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        jobs_for_tests.always_fails.enqueue()
        raise RuntimeError("the change failed")
    assert DBTaskResult.objects.count() == 0


@pytest.mark.django_db
def test_jobs_of_a_dead_worker_are_handed_back(run_jobs):
    from throughline.core.models import WorkerHeartbeat

    result = jobs_for_tests.permanently_bad.enqueue()
    # A worker claimed it, then died (kill -9): its heartbeat goes stale.
    DBTaskResult.objects.filter(id=result.id).update(status=jobs.RUNNING, worker_ids=["dead-1"])
    WorkerHeartbeat.objects.create(
        worker_id="dead-1",
        started_at=timezone.now() - dt.timedelta(hours=1),
        last_seen=timezone.now() - dt.timedelta(minutes=10),
    )
    assert jobs.reap_stale_jobs() == 1
    assert DBTaskResult.objects.get(id=result.id).status == jobs.READY
    # A job of a live worker is left alone.
    DBTaskResult.objects.filter(id=result.id).update(status=jobs.RUNNING, worker_ids=["live-1"])
    WorkerHeartbeat.objects.create(
        worker_id="live-1", started_at=timezone.now(), last_seen=timezone.now()
    )
    assert jobs.reap_stale_jobs() == 0
