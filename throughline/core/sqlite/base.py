"""Django's SQLite backend with one queue for the app's writers (the embedded default).

SQLite lets one connection write at a time. Our transactions start with ``BEGIN IMMEDIATE``
(settings: ``transaction_mode``), so writers meet at that statement, and SQLite makes them
wait by polling: a waiter sleeps 1, 2, 5, 10 … up to 100 ms between tries. Under load the
lock is often free while every waiter sleeps, and an unlucky request loses the race for
seconds — with 16 clients capturing leads, a third of both cores sat idle and p99 was 1.3–1.6 s
(``bench/intake.py``).

Here a writer queues before ``BEGIN IMMEDIATE``, twice, and never polls SQLite:

1. in its process, on a lock per database file (threads of one web process, and the
   in-process job worker);
2. between processes, on an exclusive ``flock`` of ``<database>.writer-lock`` beside the
   file (web processes, workers, commands), held by at most one thread per process.

Both are given back when the transaction commits or rolls back (or the connection closes).
A writer that has waited ``timeout`` seconds (the database ``OPTIONS``, as SQLite's own
wait) gets SQLite's error, ``database is locked``. Other programs (the ``sqlite3`` shell, a
backup) do not queue here; SQLite's ``busy_timeout`` still makes us wait for them. An
in-memory database has only the first queue.

Checkpoints (copying the write-ahead log back into the database file) are off the writers'
path too. SQLite runs one inside the commit that leaves the log over 1,000 pages, while that
writer still holds the lock: ~2 ms of every capture on average, tens of ms for the unlucky
one. Our connections do not (``PRAGMA wal_autocheckpoint=0``, settings); a commit that leaves
the log over ``CHECKPOINT_BYTES`` wakes the process's checkpointer thread, which runs a
``PASSIVE`` checkpoint on its own connection — it waits for no reader and no writer — and
``journal_size_limit`` (settings) cuts the log back once it is rewound. SQLite also
checkpoints when the last connection to a database closes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

logger = logging.getLogger(__name__)

CHECKPOINT_BYTES = 4 * 1024 * 1024  # the write-ahead log's size that wakes the checkpointer

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()

# Between processes the holder of the process's lock tries the file lock without blocking,
# sleeping this long between tries (a blocking flock could not give up after ``timeout``).
FILE_LOCK_POLL = (0.0002, 0.001)  # first and longest sleep, seconds


def _process_lock(name: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(name, threading.Lock())


class _Checkpointer:
    """A daemon thread that checkpoints one database when woken (one per process and file)."""

    def __init__(self, path: str):
        self.path = path
        self.wake = threading.Event()
        self.done = threading.Event()  # set after each checkpoint, for whoever waits for one
        threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True).start()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=20, isolation_level=None)
        while True:
            self.wake.wait()
            self.wake.clear()
            try:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.Error:
                logger.warning("Checkpoint of %s failed", self.path, exc_info=True)
            self.done.set()


_checkpointers: dict[tuple[int, str], _Checkpointer] = {}


def _wake_checkpointer(path: str) -> None:
    key = (os.getpid(), path)  # a forked process starts its own thread
    with _process_locks_guard:
        checkpointer = _checkpointers.get(key)
        if checkpointer is None:
            checkpointer = _checkpointers[key] = _Checkpointer(path)
    checkpointer.wake.set()


class DatabaseWrapper(base.DatabaseWrapper):
    _writer_lock: threading.Lock | None = None
    _writer_file: int | None = None

    def _start_transaction_under_autocommit(self):
        self._queue_for_writing()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._done_writing()
            raise

    def _commit(self):
        try:
            return super()._commit()
        finally:
            if self._done_writing():
                self._checkpoint_if_due()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._done_writing()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._done_writing()
            if self._writer_file is not None:
                os.close(self._writer_file)
                self._writer_file = None

    # --- The queue ---------------------------------------------------------------------------

    def _queue_for_writing(self) -> None:
        if self._writer_lock is not None:
            # Still held: the last transaction ended without our commit or rollback (the
            # sqlite3 module commits when autocommit is switched back on). Taking the locks
            # again would wait for ourselves.
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        lock = _process_lock(str(self.settings_dict["NAME"]))
        if not lock.acquire(timeout=timeout):
            raise OperationalError("database is locked")
        try:
            if not self.is_in_memory_db():
                self._lock_file(deadline)
        except BaseException:
            lock.release()
            raise
        self._writer_lock = lock

    def _lock_file(self, deadline: float) -> None:
        if self._writer_file is None:
            path = f"{self.settings_dict['NAME']}.writer-lock"
            self._writer_file = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        sleep, longest = FILE_LOCK_POLL
        while True:
            try:
                fcntl.flock(self._writer_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise OperationalError("database is locked") from None
                time.sleep(sleep)
                sleep = min(sleep * 2, longest)

    def _done_writing(self) -> bool:
        """Give the queue's locks back; whether this connection held them."""
        lock, self._writer_lock = self._writer_lock, None
        if lock is None:
            return False
        try:
            if self._writer_file is not None:
                fcntl.flock(self._writer_file, fcntl.LOCK_UN)
        finally:
            lock.release()
        return True

    def _checkpoint_if_due(self) -> None:
        if self.is_in_memory_db():
            return
        path = str(self.settings_dict["NAME"])
        try:
            size = os.stat(f"{path}-wal").st_size
        except OSError:
            return
        if size > CHECKPOINT_BYTES:
            _wake_checkpointer(path)
