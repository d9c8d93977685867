"""The audit trail: append-only entries, each hash-chained to the one before.

``hash = sha256(prev_hash + canonical_json(content))``. Appends lock the single
``AuditChainHead`` row, so concurrent transactions (PostgreSQL) extend the chain one at a
time in commit order; ``verify_chain`` re-computes every link and reports the first break.
An operation that records several entries can keep them in ``batch()`` and append them
with one lock of the head at its end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from throughline.core import bulk_insert
from throughline.core.actor import Actor
from throughline.core.deferred import Deferral
from throughline.core.models import AuditChainHead, AuditEntry

GENESIS = "0" * 64


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values (snapshots are already plain): the cheap test first
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def canonical_content(entry: AuditEntry) -> str:
    content = {
        "seq": entry.seq,
        "at": entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "channel": entry.channel,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "action": entry.action,
        "changes": entry.changes,
        "request_id": entry.request_id,
        "ip": entry.ip,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def compute_hash(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + canonical_content(entry)).encode()).hexdigest()


def object_type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """Field values of ``obj`` (concrete fields, FKs by id) in JSON-able form."""
    out: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if fields is not None and f.name not in fields and f.attname not in fields:
            continue
        if f.name in {"created_at", "updated_at", "password"}:
            continue
        out[f.name] = _jsonable(getattr(obj, f.attname))
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    """Field-level changes as ``{field: [before, after]}``."""
    keys = set(before) | set(after)
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


@dataclass
class Change:
    """One audit entry to append: what ``record()`` takes, as data (for ``record_many``)."""

    action: str
    obj: models.Model | None = None
    changes: dict[str, Any] | None = None
    object_type: str = ""
    object_id: str = ""
    object_repr: str = ""


def record(
    actor: Actor,
    action: str,
    obj: models.Model | None = None,
    *,
    changes: dict[str, Any] | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
) -> AuditEntry:
    """Append one entry. Must run inside the business operation's transaction.

    Inside ``batch()`` the entry is returned unsaved; its ``seq`` and ``hash`` are set when
    the batch is written.
    """
    change = Change(action, obj, changes, object_type, object_id, object_repr)
    return record_many(actor, [change])[0]


def record_many(actor: Actor, changes: list[Change]) -> list[AuditEntry]:
    """Append entries in order with one lock of the chain head and one insert (bulk writes)."""
    entries = [_entry(actor, change) for change in changes]
    if entries and not _batched.add(entries):
        _append(entries)
    return entries


def batch():
    """``with audit_log.batch():`` — entries recorded inside are appended when it ends.

    One lock of the chain head, one insert and one head update for all of them, in the
    order they were recorded, inside the caller's transaction (see ``core.deferred``). The
    head is locked only at the end, so an operation holds it for the shortest time.
    """
    return _batched.scope()


def _entry(actor: Actor, change: Change) -> AuditEntry:
    """The entry as recorded now; its place in the chain (time, seq, hashes) comes later."""
    obj = change.obj
    return AuditEntry(
        actor=actor.user,
        actor_label=actor.display[:200],
        channel=actor.channel,
        object_type=change.object_type or (object_type_of(obj) if obj is not None else ""),
        object_id=change.object_id or (str(obj.pk) if obj is not None else ""),
        object_repr=change.object_repr or (str(obj)[:200] if obj is not None else ""),
        action=change.action,
        changes=_jsonable(change.changes or {}),
        request_id=actor.request_id or "",
        ip=actor.ip,
    )


def _append(entries: list[AuditEntry]) -> None:
    """Chain ``entries`` after the head and write them, under the head's lock."""
    # No savepoint of its own: an entry is part of its operation's transaction, all or nothing.
    with transaction.atomic(savepoint=False):
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(
            id=1, defaults={"last_hash": GENESIS, "last_seq": 0}
        )
        now = timezone.now()
        prev_hash, seq = head.last_hash, head.last_seq
        for entry in entries:
            entry.at = now
            entry.prev_hash = prev_hash
            # seq is assigned under the head lock, so it follows chain order exactly.
            seq += 1
            entry.seq = seq
            entry.hash = compute_hash(prev_hash, entry)
            prev_hash = entry.hash
        if len(entries) == 1:
            entries[0].save(force_insert=True)
        else:
            bulk_insert.insert(entries, batch_size=500)
        head.last_hash = prev_hash
        head.last_seq = seq
        head.save(update_fields=["last_hash", "last_seq"])


_batched = Deferral("throughline_audit_batch", _append)


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 2000) -> VerifyResult:
    """Walk the chain in order; report the first entry whose link or content does not match."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        batch = list(AuditEntry.objects.filter(seq__gt=last_seq).order_by("seq")[:batch_size])
        if not batch:
            break
        for entry in batch:
            if entry.seq != expected_seq:
                return VerifyResult(False, checked, expected_seq, "entry missing from the chain")
            if entry.prev_hash != prev_hash:
                return VerifyResult(False, checked, entry.seq, "link to previous entry broken")
            if compute_hash(prev_hash, entry) != entry.hash:
                return VerifyResult(False, checked, entry.seq, "content does not match its hash")
            prev_hash = entry.hash
            expected_seq += 1
            checked += 1
            last_seq = entry.seq
    head = AuditChainHead.objects.filter(id=1).first()
    if head is not None and (head.last_seq != last_seq or head.last_hash != prev_hash):
        return VerifyResult(False, checked, last_seq + 1, "entries removed from the end")
    return VerifyResult(True, checked)
