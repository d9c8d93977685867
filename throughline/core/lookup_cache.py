"""Read-mostly lookups remembered for the length of one batch operation, and settings
remembered by the process for as long as they do not change.

Services look up the same few rows again and again (the organization, custom field
definitions, lead sources). A request does it once or twice; a bulk import would do it per
row. ``with batch_cache():`` remembers such lookups until the block ends, and outside such a
block ``cached()`` simply computes — so single operations keep reading fresh values.

``cached_config()`` is for lookups that depend only on *watched* configuration models
(``watch_config``): the organization, lead sources, rules, templates, their users. Inside a
batch it also keeps the value for the whole process, under the configuration stamp
(``core.ConfigStamp``) read once per batch. Every save or delete of a watched model sets a new
random stamp in its own transaction, so the next batch anywhere — this process or another —
reads a stamp it has not seen and computes afresh; a change rolled back leaves the old stamp,
under which the old values are still right. A capture then reads one small row instead of a
dozen settings.

TRICKY: the stamp is kept by signals, so a watched model changed with ``QuerySet.update()``,
``bulk_create`` or raw SQL must call ``config_changed()`` itself. Values are shared between
threads: callers must not modify what ``cached_config`` returns.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.db import connection
from django.db.models.signals import m2m_changed, post_delete, post_save

T = TypeVar("T")

_store: ContextVar[dict | None] = ContextVar("throughline_lookup_cache", default=None)

_MISSING = object()
_STAMP = ("core.lookup_cache", "stamp")  # a batch's key for the stamp it read

# The process's settings: values read under ``_shared_stamp``.
_shared: dict[Hashable, object] = {}
_shared_stamp: int | None = None
_shared_lock = threading.Lock()
# Bumped by every change seen in this process: a value computed while one happened (perhaps
# from the change's own uncommitted rows) is used by its batch but not shared.
_changes = 0


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


def cached_config(key: Hashable, compute: Callable[[], T]) -> T:
    """``cached()``, and shared by the process while the configuration stamp holds."""
    store = _store.get()
    if store is None:
        return compute()
    if key in store:
        return store[key]
    stamp = store.get(_STAMP, _MISSING)
    if stamp is _MISSING:
        stamp = store[_STAMP] = read_stamp()
    value = _shared_value(stamp, key)
    if value is _MISSING:
        changes = _changes
        value = compute()
        if stamp is not None and changes == _changes:
            _share(stamp, key, value)
    store[key] = value
    return value


def read_stamp() -> int | None:
    """The configuration stamp as this transaction sees it (None: no stamp row)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT stamp FROM core_configstamp WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _shared_value(stamp: int | None, key: Hashable) -> object:
    global _shared_stamp
    with _shared_lock:
        if stamp != _shared_stamp:
            _shared.clear()
            _shared_stamp = stamp
            return _MISSING
        return _shared.get(key, _MISSING)


def _share(stamp: int, key: Hashable, value: object) -> None:
    with _shared_lock:
        if stamp == _shared_stamp:
            _shared[key] = value


def config_changed() -> None:
    """A watched setting changed in the current transaction: give it a new stamp."""
    global _changes
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_configstamp (id, stamp) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET stamp = excluded.stamp",
            [secrets.randbits(62)],
        )
    with _shared_lock:
        _changes += 1
        _shared.clear()
    store = _store.get()
    if store is not None:
        store.clear()  # this batch reads the changed settings again


# Per watched model: fields whose saves do not change what services remember (bookkeeping).
_ignored: dict[type, frozenset[str]] = {}


def _on_change(sender, update_fields=None, **kwargs) -> None:
    ignored = _ignored.get(sender)
    if ignored and update_fields is not None and set(update_fields) <= ignored:
        return  # e.g. a webhook endpoint's failure streak, a user's last login
    config_changed()


def _on_m2m_change(sender, action: str, **kwargs) -> None:
    if action in {"post_add", "post_remove", "post_clear"}:
        config_changed()


def watch_config(*models: type, ignore: frozenset[str] | set[str] = frozenset()) -> None:
    """Give the configuration a new stamp whenever one of ``models`` is saved or deleted —
    except by a ``save(update_fields=…)`` of ``ignore``d fields only."""
    for model in models:
        if ignore:
            _ignored[model] = frozenset(ignore)
        post_save.connect(_on_change, sender=model, dispatch_uid=f"config:{model._meta.label}")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"config-d:{model._meta.label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                _on_m2m_change,
                sender=field.remote_field.through,
                dispatch_uid=f"config-m:{model._meta.label}.{field.name}",
            )
