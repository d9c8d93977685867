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
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()

# Between processes the holder of the process's lock tries the file lock without blocking,
# sleeping this long between tries (a blocking flock could not give up after ``timeout``).
FILE_LOCK_POLL = (0.0002, 0.001)  # first and longest sleep, seconds


def _process_lock(name: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(name, threading.Lock())


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
            self._done_writing()

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
            return  # already queued (a transaction begun again after a failed BEGIN)
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

    def _done_writing(self) -> None:
        lock, self._writer_lock = self._writer_lock, None
        if lock is None:
            return
        try:
            if self._writer_file is not None:
                fcntl.flock(self._writer_file, fcntl.LOCK_UN)
        finally:
            lock.release()
