"""The job worker: claims READY jobs (SKIP LOCKED on PostgreSQL), runs them, retries failures.

Several workers may run at once on PostgreSQL. Each keeps a heartbeat row fresh from a
background thread (so a long job does not look dead), runs the scheduler tick, and hands the
jobs of dead workers back to the queue.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from types import FrameType

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.utils import OperationalError
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from throughline.core import jobs, scheduler
from throughline.core.models import WorkerHeartbeat

logger = logging.getLogger("throughline.worker")


class Worker:
    def __init__(
        self,
        *,
        worker_id: str | None = None,
        queues: list[str] | None = None,
        interval: float = 0.5,
        max_jobs: int | None = None,
        exit_when_idle: bool = False,
        heartbeat_every: float | None = 5.0,
        sweeps: bool = True,
        batch_size: int = 10,
    ) -> None:
        self.worker_id = (
            worker_id or f"{socket.gethostname()[:30]}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )
        self.queues = queues
        self.interval = interval
        self.max_jobs = max_jobs
        self.exit_when_idle = exit_when_idle
        self.heartbeat_every = heartbeat_every
        self.sweeps = sweeps
        self.batch_size = batch_size
        self.jobs_run = 0
        self._stop = threading.Event()
        self._last_tick = 0.0

    # -- lifecycle ------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def stop(signum: int, frame: FrameType | None) -> None:
            logger.info(
                "Worker %s: %s received, finishing the current job",
                self.worker_id,
                signal.strsignal(signum),
            )
            self._stop.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def stop(self) -> None:
        self._stop.set()

    def _beat(self) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname()[:200],
                "pid": os.getpid(),
                "last_seen": now,
                "jobs_run": self.jobs_run,
            },
            create_defaults={
                "hostname": socket.gethostname()[:200],
                "pid": os.getpid(),
                "started_at": now,
                "last_seen": now,
                "jobs_run": self.jobs_run,
            },
        )

    def _heartbeat_loop(self) -> None:
        try:
            while not self._stop.wait(self.heartbeat_every):
                try:
                    self._beat()
                except OperationalError:
                    logger.warning("Worker %s: heartbeat failed, will retry", self.worker_id)
        finally:
            connection.close()

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> int:
        logger.info("Worker %s started (database: %s)", self.worker_id, connection.vendor)
        self._beat()
        if self.heartbeat_every:
            threading.Thread(target=self._heartbeat_loop, name="heartbeat", daemon=True).start()
        try:
            while not self._stop.is_set():
                if not connection.in_atomic_block:  # tests drive a worker inside one
                    close_old_connections()
                self._housekeeping()
                batch = self.claim()
                if batch:
                    for index, result in enumerate(batch):
                        if self._stop.is_set():
                            self.release(batch[index:])
                            break
                        self.execute(result)
                    if self.max_jobs is not None and self.jobs_run >= self.max_jobs:
                        break
                    continue
                if self.exit_when_idle:
                    break
                self._stop.wait(self.interval)
        finally:
            self._stop.set()
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(jobs_run=self.jobs_run)
        logger.info("Worker %s stopped after %d jobs", self.worker_id, self.jobs_run)
        return self.jobs_run

    def _housekeeping(self) -> None:
        if not self.sweeps:
            return
        now = time.monotonic()
        if now - self._last_tick < 5 and self._last_tick:
            return
        self._last_tick = now
        try:
            jobs.reap_stale_jobs()
            scheduler.tick()
        except OperationalError as exc:
            if not is_locked_database_exception(exc):
                raise

    def claim(self) -> list[DBTaskResult]:
        """Claim up to ``batch_size`` ready jobs in one short transaction.

        On PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` lets workers claim side by side;
        on SQLite the transaction is exclusive. Claimed rows are RUNNING under this worker's
        id; if it dies, ``reap_stale_jobs`` hands them back (at-least-once).
        """
        ready = DBTaskResult.objects.ready()
        if self.queues:
            ready = ready.filter(queue_name__in=self.queues)
        limit = self.batch_size
        if self.max_jobs is not None:
            limit = max(1, min(limit, self.max_jobs - self.jobs_run))
        try:
            with exclusive_transaction(ready.db):
                rows = list(ready.select_for_update(skip_locked=True)[:limit])
                if not rows:
                    return []
                now = timezone.now()
                for row in rows:
                    row.status = jobs.RUNNING
                    row.started_at = now
                    row.worker_ids = [*(row.worker_ids or []), self.worker_id]
                DBTaskResult.objects.bulk_update(rows, ["status", "started_at", "worker_ids"])
        except OperationalError as exc:
            if is_locked_database_exception(exc):
                return []
            raise
        return rows

    def release(self, rows: list[DBTaskResult]) -> None:
        """Hand claimed-but-unstarted jobs back on a graceful stop (no attempt is counted)."""
        for row in rows:
            DBTaskResult.objects.filter(id=row.id, status=jobs.RUNNING).update(
                status=jobs.READY, worker_ids=row.worker_ids[:-1]
            )

    def execute(self, result: DBTaskResult) -> None:
        try:
            task = result.task
            value = task.call(*result.args_kwargs["args"], **result.args_kwargs["kwargs"])
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, none is lost
            retried = jobs.record_failure(result, exc, "".join(traceback.format_exception(exc)))
            log = logger.warning if retried else logger.error
            log(
                "Job %s (%s) attempt %d failed: %s%s",
                result.id,
                result.task_path,
                jobs.attempts_of(result),
                type(exc).__name__,
                ", will retry" if retried else ", giving up",
            )
        else:
            result.set_successful(value)
        finally:
            self.jobs_run += 1


def run_until_idle(max_rounds: int = 50) -> int:
    """Run every job that is ready now (tests and the CLI use this); returns jobs run."""
    total = 0
    for _ in range(max_rounds):
        ran = Worker(exit_when_idle=True, sweeps=False, heartbeat_every=None).run()
        total += ran
        if ran == 0:
            break
    return total


def worker_is_fresh() -> bool:
    cutoff = timezone.now() - dt.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    return WorkerHeartbeat.objects.filter(last_seen__gte=cutoff).exists()
