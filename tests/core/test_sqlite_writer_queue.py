"""The SQLite backend (throughline/core/sqlite/base.py): writers queue, checkpoints run aside.

Each test opens its own database file through the backend (whatever ``DATABASE_URL`` the
suite runs on), with its own connections per thread, and a real second process where the
queue between processes is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest
from django.db import OperationalError
from django.db.utils import ConnectionHandler

from throughline.core.sqlite import base as sqlite_base

# Holds the file lock of the database named in argv[1] until a line arrives on stdin.
HOLDER = """
import fcntl, sys
lock = open(sys.argv[1] + ".writer-lock", "a")
fcntl.flock(lock, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


def database(path, timeout: float = 20) -> ConnectionHandler:
    """Connections to ``path`` through the backend, one per thread (as Django's own)."""
    return ConnectionHandler(
        {
            "default": {
                "ENGINE": "throughline.core.sqlite",
                "NAME": str(path),
                "OPTIONS": {
                    "timeout": timeout,
                    "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;",
                },
            }
        }
    )


def begin(connection) -> None:
    # What transaction.atomic() does on SQLite.
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)


def commit(connection) -> None:
    connection.commit()
    connection.set_autocommit(True)


def execute(connection, sql: str, params=()) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.fixture(autouse=True)
def own_databases(django_db_blocker):
    # These tests use their own database files, never the suite's database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "queue.sqlite3"
    handler = database(path)
    execute(handler["default"], "CREATE TABLE t (v TEXT)")
    handler.close_all()
    return path


def in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_second_writer_in_the_process_waits_for_the_first_to_commit(db_path):
    handler = database(db_path)
    first = handler["default"]
    order: list[str] = []
    begin(first)
    execute(first, "INSERT INTO t VALUES ('first')")

    def second():
        connection = handler["default"]  # this thread's own connection
        begin(connection)
        order.append("second began")
        execute(connection, "INSERT INTO t VALUES ('second')")
        commit(connection)
        connection.close()

    thread = in_thread(second)
    thread.join(0.3)
    assert thread.is_alive() and order == []  # queued behind the first, not failed
    order.append("first commits")
    commit(first)
    thread.join(10)
    assert order == ["first commits", "second began"]
    assert execute(first, "SELECT v FROM t ORDER BY rowid") == [("first",), ("second",)]


def test_a_rollback_and_a_closed_connection_give_the_queue_back(db_path):
    handler = database(db_path)
    connection = handler["default"]
    begin(connection)
    execute(connection, "INSERT INTO t VALUES ('rolled back')")
    connection.rollback()
    connection.set_autocommit(True)
    begin(connection)
    connection.close()  # in the middle of a transaction

    began = threading.Event()

    def writer():
        other = handler["default"]
        begin(other)
        began.set()
        commit(other)
        other.close()

    in_thread(writer).join(10)
    assert began.is_set()
    assert execute(handler["default"], "SELECT count(*) FROM t") == [(0,)]


@pytest.fixture
def other_process(db_path):
    """Another process holding the database's writer lock until ``release()``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"

    def release():
        if holder.poll() is None:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(10)

    yield release
    release()


def test_writers_of_two_processes_take_turns(db_path, other_process):
    handler = database(db_path)
    began = threading.Event()

    def writer():
        connection = handler["default"]
        begin(connection)
        began.set()
        execute(connection, "INSERT INTO t VALUES ('after the other process')")
        commit(connection)
        connection.close()

    thread = in_thread(writer)
    thread.join(0.3)
    assert not began.is_set()  # the other process writes
    other_process()
    thread.join(10)
    assert began.is_set()
    assert execute(handler["default"], "SELECT v FROM t") == [("after the other process",)]


def test_a_writer_that_waited_its_timeout_gets_sqlites_error(db_path, other_process):
    handler = database(db_path, timeout=0.2)
    connection = handler["default"]
    with pytest.raises(OperationalError, match="database is locked"):
        begin(connection)
    other_process()
    # Nothing stayed queued: the next transaction begins and commits.
    connection.set_autocommit(True)
    begin(connection)
    execute(connection, "INSERT INTO t VALUES ('later')")
    commit(connection)
    assert execute(connection, "SELECT v FROM t") == [("later",)]


def test_a_commit_that_grows_the_log_wakes_the_checkpointer(db_path, monkeypatch):
    monkeypatch.setattr(sqlite_base, "CHECKPOINT_BYTES", 64 * 1024)
    handler = database(db_path)
    connection = handler["default"]
    size = db_path.stat().st_size
    begin(connection)
    connection.cursor().executemany("INSERT INTO t VALUES (?)", [("x" * 100,)] * 5000)
    assert db_path.stat().st_size == size  # uncommitted pages stay in the log
    commit(connection)
    checkpointer = sqlite_base._checkpointers[(os.getpid(), str(db_path))]
    assert checkpointer.done.wait(10)
    # Copied into the database file by the checkpointer thread (no connection here would).
    assert db_path.stat().st_size > size
    assert execute(connection, "PRAGMA wal_autocheckpoint") == [(0,)]
    assert execute(connection, "SELECT count(*) FROM t") == [(5000,)]
