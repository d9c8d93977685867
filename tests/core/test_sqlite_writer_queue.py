"""The SQLite writer queue (core.sqlite_backend) on a real database file.

The suite's own database is in memory (no queue), so these tests open file databases of
their own through the backend, as ``make run`` does.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from django.db import OperationalError, connections, transaction

from throughline.core.sqlite_backend import base as queue


def _settings(path, timeout=20):
    return {
        "ENGINE": "throughline.core.sqlite_backend",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": timeout,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA busy_timeout=20000;",
        },
    }


ALIAS = "writer_queue_test"


@pytest.fixture
def handler(tmp_path, django_db_blocker):
    """A database alias on a file of its own (``connections`` gives each thread a connection)."""
    connections.settings[ALIAS] = connections.configure_settings(
        {"default": {}, ALIAS: _settings(tmp_path / "q.sqlite3", timeout=2)}
    )[ALIAS]
    with django_db_blocker.unblock():
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)")
            cursor.execute("INSERT INTO counter VALUES (1, 0)")
        yield connections
        connections[ALIAS].close()
    del connections[ALIAS]
    del connections.settings[ALIAS]


def _file_is_locked(path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_a_writing_transaction_holds_the_queue_until_commit_or_rollback(handler, tmp_path):
    conn = handler[ALIAS]
    lock_path = tmp_path / "q.sqlite3.writers"
    with transaction.atomic(using=ALIAS):
        conn.cursor().execute("UPDATE counter SET n = n + 1")
        assert _file_is_locked(lock_path)
        with transaction.atomic(using=ALIAS):  # a savepoint does not queue again
            conn.cursor().execute("UPDATE counter SET n = n + 1")
    assert not _file_is_locked(lock_path)

    with pytest.raises(RuntimeError), transaction.atomic(using=ALIAS):
        conn.cursor().execute("UPDATE counter SET n = n + 100")
        raise RuntimeError("rolled back")
    assert not _file_is_locked(lock_path)
    assert conn.cursor().execute("SELECT n FROM counter").fetchone() == (2,)


def test_closing_a_connection_in_a_transaction_leaves_the_queue(handler, tmp_path):
    conn = handler[ALIAS]
    transaction.atomic(using=ALIAS).__enter__()
    conn.cursor().execute("UPDATE counter SET n = n + 1")
    conn.close()
    assert not _file_is_locked(tmp_path / "q.sqlite3.writers")
    assert not queue._process_queue.locked()


def test_a_writer_waits_for_another_process_and_gives_up_after_the_timeout(handler, tmp_path):
    # Another process holds the queue's file lock (a writer of another web worker).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import fcntl, os, sys, time
                fd = os.open({str(tmp_path / "q.sqlite3.writers")!r}, os.O_RDWR | os.O_CREAT)
                fcntl.flock(fd, fcntl.LOCK_EX)
                print("locked", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(OperationalError, match="database is locked"):
            with transaction.atomic(using=ALIAS):
                pass
        assert not queue._process_queue.locked()  # this process's queue was left

        # Once the other process lets go, the waiting writer goes ahead.
        done = threading.Event()

        def write():
            with transaction.atomic(using=ALIAS):
                handler[ALIAS].cursor().execute("UPDATE counter SET n = n + 1")
            handler[ALIAS].close()
            done.set()

        thread = threading.Thread(target=write)
        thread.start()
        assert not done.wait(0.3)  # still queued behind the other process
        holder.stdin.write("go\n")
        holder.stdin.flush()
        thread.join(5)
        assert done.is_set()
    finally:
        holder.kill()
        holder.wait()
    assert handler[ALIAS].cursor().execute("SELECT n FROM counter").fetchone() == (1,)


def test_threads_and_processes_writing_at_once_all_succeed(tmp_path, handler):
    """Read-modify-write from 4 threads here and 4 in another process: none lost, none failed."""
    path = tmp_path / "q.sqlite3"
    per_thread = 25
    script = textwrap.dedent(
        """
        import json, sys, threading, django
        from django.conf import settings
        settings.configure(DATABASES={"default": json.loads(sys.argv[1])}, USE_TZ=True)
        django.setup()
        from django.db import connection, transaction

        def work():
            for _ in range(int(sys.argv[2])):
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        n = cursor.execute("SELECT n FROM counter").fetchone()[0]
                        cursor.execute("UPDATE counter SET n = %s", [n + 1])
            connection.close()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        """
    )
    other = subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(_settings(path)), str(per_thread)]
    )
    errors: list[BaseException] = []

    def work():
        try:
            for _ in range(per_thread):
                with transaction.atomic(using=ALIAS):
                    cursor = connections[ALIAS].cursor()
                    n = cursor.execute("SELECT n FROM counter").fetchone()[0]
                    cursor.execute("UPDATE counter SET n = %s", [n + 1])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections[ALIAS].close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other.wait(60) == 0
    assert errors == []
    total = handler[ALIAS].cursor().execute("SELECT n FROM counter").fetchone()[0]
    assert total == 8 * per_thread
