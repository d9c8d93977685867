"""Job runner throughput and latency (DESIGN §7: ≥ 500 jobs/s with 4 workers on PostgreSQL).

Prints, for 1 and 4 real `throughline worker` processes:
- drain throughput: N no-op jobs enqueued up front, time until all have run;
- the bare ceiling measured in the same run: the same number of single-row
  SELECT … FOR UPDATE SKIP LOCKED + UPDATE round trips from one process, no job code;
- event-to-action latency p50/p99: jobs enqueued at a steady rate while workers run,
  latency = finished_at − enqueued_at as recorded by the database.

Usage: python bench/jobs.py [--jobs 10000] [--db postgres|sqlite|both]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import REPO, ScratchDatabase, percentile, setup_django  # noqa: E402


def start_workers(count: int, env: dict[str, str], until_idle: bool) -> list[subprocess.Popen]:
    args = [sys.executable, "-m", "throughline", "worker", "--interval", "0.05"]
    if until_idle:
        args.append("--until-idle")
    return [
        subprocess.Popen(
            [*args, "--worker-id", f"bench-{i}"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]


def enqueue_bulk(n: int) -> None:
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = timezone.now()
    DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                args_kwargs={"args": [i], "kwargs": {}},
                task_path="throughline.core.tasks.ping",
                queue_name="default",
                backend_name="default",
                run_after=get_date_max(),
                enqueued_at=now,
            )
            for i in range(n)
        ],
        batch_size=2000,
    )


def drain(workers: int, n: int, env: dict[str, str]) -> float:
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    enqueue_bulk(n)
    started = time.perf_counter()
    procs = start_workers(workers, env, until_idle=True)
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise SystemExit(f"worker failed: {err[-2000:]}")
    wall = time.perf_counter() - started
    from django.db.models import Max, Min

    span = DBTaskResult.objects.aggregate(first=Min("started_at"), last=Max("finished_at"))
    elapsed = (span["last"] - span["first"]).total_seconds()  # excludes process start-up
    done = DBTaskResult.objects.filter(status="SUCCESSFUL", task_path__endswith="ping").count()
    dupes = sum(1 for r in DBTaskResult.objects.only("worker_ids") if len(r.worker_ids) != 1)
    print(
        f"  {workers} worker(s): {n} jobs in {elapsed:.2f} s = {n / elapsed:,.0f} jobs/s "
        f"(wall {wall:.1f} s with start-up) "
        f"(done {done}, claimed more than once {dupes})"
    )
    return n / elapsed


def ceiling(n: int) -> float:
    """One process doing only the claim round trips the worker does, without job code."""
    from django.db import transaction
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    enqueue_bulk(n)
    started = time.perf_counter()
    for _ in range(n):
        with transaction.atomic():
            row = DBTaskResult.objects.ready().select_for_update(skip_locked=True).first()
            DBTaskResult.objects.filter(id=row.id).update(status="SUCCESSFUL")
    rate = n / (time.perf_counter() - started)
    print(f"  bare claim ceiling (1 process, no job code): {rate:,.0f} claims/s")
    return rate


def latency(workers: int, rate: int, seconds: float, env: dict[str, str]) -> None:
    from django_tasks_db.models import DBTaskResult

    from throughline.core.tasks import ping

    DBTaskResult.objects.all().delete()
    procs = start_workers(workers, env, until_idle=False)
    time.sleep(2)  # let them start
    interval = 1 / rate
    deadline = time.perf_counter() + seconds
    sent = 0
    next_at = time.perf_counter()
    while time.perf_counter() < deadline:
        ping.enqueue(sent)
        sent += 1
        next_at += interval
        pause = next_at - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    wait_until = time.perf_counter() + 30
    while time.perf_counter() < wait_until:
        if DBTaskResult.objects.filter(status="SUCCESSFUL").count() >= sent:
            break
        time.sleep(0.2)
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=30)
    rows = DBTaskResult.objects.filter(status="SUCCESSFUL").values_list(
        "enqueued_at", "finished_at"
    )
    lat = [(f - e).total_seconds() * 1000 for e, f in rows]
    print(
        f"  enqueue-to-done latency at {rate} jobs/s, {workers} workers, {sent} jobs: "
        f"p50 {percentile(lat, 50):.0f} ms, p99 {percentile(lat, 99):.0f} ms"
    )


def run(kind: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(kind, Path(tmp)) as db:
        print(f"== jobs on {kind} ({db.name})")
        setup_django(db.env)
        ceil = ceiling(min(n, 3000))
        one = drain(1, n, db.env)
        four = drain(4, n, db.env)
        print(
            f"  ratio 4 workers / bare ceiling: {four / ceil:.2f}; 4 vs 1 worker: {four / one:.2f}x"
        )
        latency(4, 100, 5, db.env)
        from django.db import connections

        connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="postgres")
    args = parser.parse_args()
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    for kind in kinds:
        run(kind, args.jobs)


if __name__ == "__main__":
    main()
