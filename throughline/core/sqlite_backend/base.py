"""SQLite whose writers queue for the write lock instead of polling for it.

SQLite lets one transaction write at a time. A writer that finds the lock taken retries from
its busy handler, sleeping 1, 2, 5, 10 … up to 100 ms between tries: under load (a web form
taking leads from 16 clients through 2 processes × 4 threads) the lock often stands free while
every waiter sleeps, and an unlucky request loses the race again and again — seconds of tail
latency on captures that take milliseconds.

Here a transaction that will write (``BEGIN IMMEDIATE``, the default in our settings) first
takes its place in a queue: the threads of one process wait on a lock, and the one at the
front waits for the file lock (``flock``) that the processes sharing the database file
share, polling it every few hundred microseconds. The write lock is then nearly always free
when BEGIN asks for it; the busy handler remains as the fallback for writers outside this
queue (``sqlite3`` on the command line, a backup). The queue is left at COMMIT, ROLLBACK or
when the connection closes. In-memory databases (the test suite's) have no file to share and
skip the queue.

Waiting ends with SQLite's own "database is locked" error after the connection's ``timeout``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time

from django.db import OperationalError
from django.db.backends.sqlite3 import base

_process_queue = threading.Lock()
_files: dict[str, int] = {}
_files_lock = threading.Lock()
POLL_SECONDS = (0.0002, 0.002)  # first and longest pause between tries of the file lock


def _lock_file(path: str) -> int:
    with _files_lock:
        if path not in _files:
            _files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return _files[path]


class DatabaseWrapper(base.DatabaseWrapper):
    _queued_fd: int | None = None

    def _queue_path(self) -> str | None:
        if self.transaction_mode != "IMMEDIATE" or self.is_in_memory_db():
            return None
        return f"{self.settings_dict['NAME']}.writers"

    def _start_transaction_under_autocommit(self):
        path = self._queue_path()
        if path is not None and self._queued_fd is None:
            self._enter_queue(path)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._leave_queue()
            raise

    def _enter_queue(self, path: str) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        deadline = time.monotonic() + timeout
        if not _process_queue.acquire(timeout=timeout):
            raise OperationalError("database is locked (waited for this process's writers)")
        fd = _lock_file(path)
        pause = POLL_SECONDS[0]
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    _process_queue.release()
                    raise OperationalError(
                        "database is locked (waited for other processes)"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, POLL_SECONDS[1])
        self._queued_fd = fd

    def _leave_queue(self) -> None:
        fd, self._queued_fd = self._queued_fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            _process_queue.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._leave_queue()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._leave_queue()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._leave_queue()
