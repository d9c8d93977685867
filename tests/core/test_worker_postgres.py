"""Real worker processes on PostgreSQL: two of them never run one job twice."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.core import jobs_for_tests
from throughline.core import jobs

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(worker_id: str, tmp_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "THROUGHLINE_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "test-only",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "throughline",
            "worker",
            "--until-idle",
            "--interval",
            "0",
            "--worker-id",
            worker_id,
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_workers_never_run_a_job_twice(tmp_path):
    # given: 150 jobs that each insert one row, with no constraint to hide a duplicate
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE job_runs (n integer NOT NULL, pid integer NOT NULL)")
    for n in range(150):
        jobs_for_tests.record_run.enqueue(n, "job_runs")

    # when: two real worker processes drain the queue concurrently
    workers = [_start_worker(f"pair-{i}", tmp_path) for i in range(2)]
    outputs = [w.communicate(timeout=180)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs

    # then: every job ran exactly once, and both workers took part
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, count(*) FROM job_runs GROUP BY n HAVING count(*) > 1")
        assert cursor.fetchall() == []
        cursor.execute("SELECT count(DISTINCT n), count(DISTINCT pid) FROM job_runs")
        distinct_jobs, distinct_backends = cursor.fetchone()
        cursor.execute("DROP TABLE job_runs")
    assert distinct_jobs == 150
    assert distinct_backends == 2
    ours = DBTaskResult.objects.filter(task_path__endswith="record_run")
    assert ours.filter(status=jobs.SUCCESSFUL).count() == 150
    per_worker = {}
    for row in ours:
        per_worker[row.worker_ids[-1]] = per_worker.get(row.worker_ids[-1], 0) + 1
    assert set(per_worker) == {"pair-0", "pair-1"}
    assert all(len(row.worker_ids) == 1 for row in ours)


def test_ten_thousand_jobs_through_four_workers_none_lost_none_duplicated(tmp_path):
    from django.utils import timezone
    from django_tasks_db.models import get_date_max

    # given: 10,000 ready jobs, enqueued in bulk (as a burst of events would)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE job_runs (n integer NOT NULL, pid integer NOT NULL)")
    now = timezone.now()
    DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                args_kwargs={"args": [n, "job_runs"], "kwargs": {}},
                task_path="tests.core.jobs_for_tests.record_run",
                queue_name="default",
                backend_name="default",
                run_after=get_date_max(),
                enqueued_at=now,
            )
            for n in range(10_000)
        ],
        batch_size=2000,
    )

    # when: four real worker processes drain the queue
    workers = [_start_worker(f"four-{i}", tmp_path) for i in range(4)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0, 0, 0], outputs

    # then: zero lost, zero duplicated
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT n) FROM job_runs")
        total, distinct = cursor.fetchone()
        cursor.execute("DROP TABLE job_runs")
    assert (total, distinct) == (10_000, 10_000)
    ours = DBTaskResult.objects.filter(task_path__endswith="record_run")
    assert ours.filter(status=jobs.SUCCESSFUL).count() == 10_000
    assert ours.exclude(status=jobs.SUCCESSFUL).count() == 0
