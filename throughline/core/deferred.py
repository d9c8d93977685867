"""Appends kept until the end of a scope and written at once (``audit_log.batch``, ``events.batch``).

One operation writes several audit entries and events; each written on its own costs a lock
of the audit chain's head, an insert and a handful of look-ups. ``Deferral.scope()`` keeps
what is added inside it and hands the lot to the kind's ``write`` function when the
outermost scope exits normally — still inside the caller's transaction, so the rows commit
or roll back with the change as before. An exception leaving the scope discards them.

TRICKY: savepoints. Code inside the scope may run a nested ``transaction.atomic`` that rolls
back while its caller carries on (e.g. losing an insert race). Rows written there directly
would be rolled back with it, so what was added there must be dropped too. Django forgets
the ``on_commit`` callbacks registered inside a rolled-back savepoint; each savepoint state
gets a no-op callback as its marker, and only items whose marker survives are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction


class _Pending:
    def __init__(self) -> None:
        self.items: list[tuple[Callable[[], None], Any]] = []
        self.markers: dict[tuple[str, ...], Callable[[], None]] = {}

    def add(self, items: list[Any]) -> None:
        connection = transaction.get_connection()
        state = tuple(connection.savepoint_ids)
        marker = self.markers.get(state)
        if marker is None:
            # A distinct no-op per savepoint state (it runs after commit and does nothing).
            marker = self.markers[state] = lambda: None
            transaction.on_commit(marker)
        self.items.extend((marker, item) for item in items)

    def surviving(self) -> list[Any]:
        connection = transaction.get_connection()
        alive = {func for _sids, func, _robust in connection.run_on_commit}
        return [item for marker, item in self.items if marker in alive]


class Deferral:
    """A batch scope for one kind of append: ``add()`` inside a scope, ``write(items)`` at its end."""

    def __init__(self, name: str, write: Callable[[list[Any]], Any]) -> None:
        self._pending: ContextVar[_Pending | None] = ContextVar(name, default=None)
        self._write = write

    @contextmanager
    def scope(self) -> Iterator[None]:
        if self._pending.get() is not None:
            yield  # a nested scope joins the outer one
            return
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("A batch scope must run inside the operation's transaction")
        pending = _Pending()
        token = self._pending.set(pending)
        try:
            yield
            items = pending.surviving()
        finally:
            self._pending.reset(token)
        if items:
            self._write(items)

    def add(self, items: list[Any]) -> bool:
        """Keep ``items`` for the current scope; False when no scope is open (write them now)."""
        pending = self._pending.get()
        if pending is None:
            return False
        pending.add(items)
        return True
