"""Jobs used by the job/worker tests; importable by path so real workers can run them."""

from pathlib import Path

from django.db import connection

from throughline.core.jobs import PermanentJobError, job


@job(max_attempts=5)
def flaky(counter_path: str, fail_times: int) -> int:
    """Fails ``fail_times`` times, then succeeds; the count survives across processes."""
    path = Path(counter_path)
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    if calls <= fail_times:
        raise ConnectionError(f"transient failure {calls}")
    return calls


@job(max_attempts=3)
def always_fails() -> None:
    raise RuntimeError("the receiving end is gone")


@job(max_attempts=5)
def permanently_bad() -> None:
    raise PermanentJobError("bad input; retrying cannot help")


@job(queue_name="default", max_attempts=3)
def record_run(n: int, table: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (n, pid) VALUES (%s, pg_backend_pid())", [n])  # noqa: S608
