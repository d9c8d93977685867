"""A worker killed with SIGKILL in the middle of a step: the step's effect exists exactly once.

Real ``throughline worker`` processes on PostgreSQL. The test holds the audit chain's lock, so
the worker blocks inside the step's transaction after inserting the task (crm.create_task
writes its audit entry next), and kills it there. The killed worker's transaction never
commits; the next worker's reaper hands the job back and runs the step again.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from throughline.automation.models import StepRun, WorkflowRun
from throughline.automation.workflows import services
from throughline.core import jobs
from throughline.core.models import AuditChainHead
from throughline.core.worker import Worker
from throughline.crm import services as crm
from throughline.crm.models import Task

REPO = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
STALE_SECONDS = 2


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(worker_id: str, tmp_path: Path, *, until_idle: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "THROUGHLINE_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "test-only",
        "WORKER_HEARTBEAT_STALE_SECONDS": str(STALE_SECONDS),
    }
    args = [
        sys.executable,
        "-m",
        "throughline",
        "worker",
        "--interval",
        "0.1",
        "--worker-id",
        worker_id,
    ]
    if until_idle:
        args.append("--until-idle")
    return subprocess.Popen(
        args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # Inside a transaction PostgreSQL keeps one snapshot of the activity view: refresh it.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_step_leaves_the_effect_exactly_once(actor, tmp_path):
    # given: a workflow whose first step creates a task, triggered and waiting for a worker
    services.create_workflow(
        actor,
        key="call-new",
        name="Call new contacts",
        definition={
            "trigger": {"type": "event", "event": "contact.created"},
            "subject": "crm.contact",
            "steps": [
                {"id": "call", "action": "task.create", "params": {"title": "Call {{ subject }}"}}
            ],
        },
    )
    crm.create_contact(actor, first_name="Ada", email="ada@example.com")
    Worker(queues=["events"], exit_when_idle=True, sweeps=False, heartbeat_every=None).run()
    step = StepRun.objects.get(step_id="call")
    assert step.status == StepRun.Status.PENDING

    # when: a worker runs the step and is killed while the step's transaction is open
    victim = None
    try:
        with transaction.atomic():
            AuditChainHead.objects.select_for_update().get(id=1)  # the step will wait for this
            victim = _start_worker("victim", tmp_path, until_idle=False)
            deadline = time.monotonic() + 60
            while not _waiting_on_a_lock():
                assert victim.poll() is None, victim.communicate()[0]
                assert time.monotonic() < deadline, "the worker never reached the step"
                time.sleep(0.05)
            step.refresh_from_db()
            assert step.status == StepRun.Status.RUNNING and step.attempts == 1
            assert Task.objects.filter(title="Call Ada").count() == 0  # not committed
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
    finally:
        if victim is not None and victim.poll() is None:
            victim.kill()
            victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL

    job = DBTaskResult.objects.get(id=step.job_id)
    assert job.status == jobs.RUNNING and job.worker_ids == ["victim"]  # left behind
    time.sleep(STALE_SECONDS + 1)  # the victim's heartbeat goes stale

    # then: the next worker's reaper hands the job back, and that worker finishes it
    rescuer = _start_worker("rescuer", tmp_path, until_idle=True)
    output = rescuer.communicate(timeout=120)[0]
    assert rescuer.returncode == 0, output

    assert Task.objects.filter(title="Call Ada").count() == 1
    step.refresh_from_db()
    assert step.status == StepRun.Status.SUCCEEDED and step.attempts == 2
    assert WorkflowRun.objects.get().status == WorkflowRun.Status.SUCCEEDED
    job.refresh_from_db()
    assert job.status == jobs.SUCCESSFUL and job.worker_ids == ["victim", "rescuer"]
