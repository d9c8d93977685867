"""Read-mostly lookups remembered for the length of one batch operation.

Services look up the same few rows again and again (the organization, custom field
definitions, lead sources). A request does it once or twice; a bulk import would do it per
row. ``with batch_cache():`` remembers such lookups until the block ends, and outside such a
block ``cached()`` simply computes — so single operations keep reading fresh values.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_store: ContextVar[dict | None] = ContextVar("throughline_lookup_cache", default=None)


@contextmanager
def batch_cache() -> Iterator[None]:
    token = _store.set({} if _store.get() is None else _store.get())
    try:
        yield
    finally:
        _store.reset(token)


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    store = _store.get()
    if store is None:
        return compute()
    if key not in store:
        store[key] = compute()
    return store[key]
