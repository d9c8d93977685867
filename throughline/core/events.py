"""Domain events (DESIGN §4): an outbox written with the change, handled at least once.

``emit()`` inserts a ``DomainEvent`` and, in the same transaction, enqueues one job per
registered handler. A handler runs inside a transaction that also records ``HandledEvent``
(unique per event and handler), so a retried or duplicated job has its effect once.
Inside ``batch()`` events are kept until the scope ends and written together.

Apps register handlers in their ``AppConfig.ready`` with ``@on("contract.signed")``; an app
reacts to the events of apps to its right instead of importing them (DESIGN §2).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from throughline.core import bulk_insert
from throughline.core.actor import Actor
from throughline.core.deferred import Deferral
from throughline.core.jobs import PermanentJobError, enqueue_many, job
from throughline.core.models import DomainEvent, HandledEvent

logger = logging.getLogger(__name__)

EVENT_NAMES = frozenset(
    """
    lead.captured lead.duplicate_merged lead.scored lead.assigned lead.first_response_sent
    lead.sla_breached lead.qualified lead.nurtured lead.rejected lead.converted
    deal.stage_changed deal.won deal.lost proposal.sent proposal.viewed proposal.commented
    proposal.revised proposal.approved proposal.accepted contract.sent contract.viewed
    contract.signed project.created milestone.completed milestone.accepted project.closed
    invoice.issued invoice.sent invoice.viewed invoice.overdue payment.received invoice.paid
    payment.failed payment.refunded webhook.delivery_failed integration.unhealthy
    payment.reversed
    contact.created contact.updated contact.merged company.created company.updated
    task.created task.completed activity.logged
    retainer.period_started
    """.split()
)
MAX_CHAIN_DEPTH = 8

Handler = Callable[[DomainEvent], Any]
Wants = Callable[[set[str]], set[str]]
Done = Callable[[list[DomainEvent]], set[int]]
_handlers: dict[str, dict[str, Handler]] = defaultdict(dict)
_wants: dict[str, Wants] = {}
_done: dict[str, Done] = {}


def handler_path(fn: Handler) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def on(
    *names: str, wants: Wants | None = None, done: Done | None = None
) -> Callable[[Handler], Handler]:
    """Register ``fn(event)`` for the named events (or ``"*"`` for every event).

    ``wants(event_names)``, if given, is asked inside ``emit()``'s transaction which of
    these events the handler has anything to do with now (e.g. an active workflow listens
    to it) and returns those names; for the others no job is enqueued. A catch-all handler
    with nothing to do would otherwise cost a job row and a worker round trip for every
    event of the system. A batch of events asks once for all of its names.

    ``done(events)``, if given, is asked the same way with the written events the handler
    would get and returns the ids of those whose work the change itself already did in
    this transaction (a contact created with its search keys written); they get no job.
    """

    def register(fn: Handler) -> Handler:
        for name in names:
            if name != "*" and name not in EVENT_NAMES:
                raise ValueError(f"Unknown event name {name!r}")
            _handlers[name][handler_path(fn)] = fn
        if wants is not None:
            _wants[handler_path(fn)] = wants
        if done is not None:
            _done[handler_path(fn)] = done
        return fn

    return register


def handlers_for(name: str) -> dict[str, Handler]:
    return {**_handlers.get("*", {}), **_handlers.get(name, {})}


def emit(
    actor: Actor,
    name: str,
    subject: models.Model | None = None,
    *,
    subject_type: str = "",
    subject_id: str = "",
    cause: DomainEvent | None = None,
    **payload: Any,
) -> DomainEvent:
    """Record an event in the current transaction and enqueue its handlers with it.

    Inside ``batch()`` the event is returned unsaved (no id yet) and written when the batch
    ends.
    """
    if name not in EVENT_NAMES:
        raise ValueError(f"Unknown event name {name!r}")
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("emit() must run inside the transaction of the change it describes")
    depth = (cause.depth + 1) if cause is not None else 0
    if depth > MAX_CHAIN_DEPTH:
        raise RuntimeError(f"Event chain deeper than {MAX_CHAIN_DEPTH}: {name}")
    if subject is not None:
        subject_type = subject_type or subject._meta.label_lower
        subject_id = subject_id or str(subject.pk)
    event = DomainEvent(
        name=name,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
        actor=actor.user,
        channel=actor.channel,
        occurred_at=timezone.now(),
        depth=depth,
    )
    if not _batched.add([event]):
        _write([event])
    return event


@dataclass
class Occurrence:
    """One event for ``emit_many``: what ``emit()`` takes, as data."""

    name: str
    subject: models.Model
    payload: dict[str, Any] = field(default_factory=dict)


def emit_many(actor: Actor, occurrences: list[Occurrence]) -> list[DomainEvent]:
    """``emit()`` for a batch (bulk writes): one insert of the events, one of their jobs."""
    if not occurrences:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("emit_many() must run inside the transaction of the change")
    now = timezone.now()
    built = []
    for occurrence in occurrences:
        if occurrence.name not in EVENT_NAMES:
            raise ValueError(f"Unknown event name {occurrence.name!r}")
        built.append(
            DomainEvent(
                name=occurrence.name,
                subject_type=occurrence.subject._meta.label_lower,
                subject_id=str(occurrence.subject.pk),
                payload=occurrence.payload,
                actor=actor.user,
                channel=actor.channel,
                occurred_at=now,
                depth=0,
            )
        )
    if not _batched.add(built):
        _write(built)
    return built


def batch():
    """``with events.batch():`` — events emitted inside are written when it ends.

    One insert of the events, one question to each ``wants`` for all their names and one
    insert of the handlers' jobs, inside the caller's transaction (see ``core.deferred``).
    """
    return _batched.scope()


def _write(built: list[DomainEvent]) -> None:
    """Insert ``built`` in order and enqueue one job per interested handler of each."""
    if len(built) == 1:
        built[0].save(force_insert=True)
    else:
        bulk_insert.insert(built, batch_size=500)
    paths_of = {event.name: handlers_for(event.name) for event in built}
    wanted: dict[str, set[str]] = {}  # handler path with a ``wants`` → the names it wants now
    for path, wants in _wants.items():
        names = {name for name, paths in paths_of.items() if path in paths}
        if names:
            wanted[path] = set(wants(names))
    finished: dict[str, set[int]] = {}  # handler path with a ``done`` → events it skips
    for path, done in _done.items():
        theirs = [event for event in built if path in paths_of[event.name]]
        if theirs:
            finished[path] = set(done(theirs))
    job_args = [
        (event.id, path)
        for event in built
        for path in paths_of[event.name]
        if (path not in wanted or event.name in wanted[path])
        and event.id not in finished.get(path, ())
    ]
    enqueue_many(handle_event, job_args)


_batched = Deferral("throughline_events_batch", _write)


@job(queue_name="events", max_attempts=8)
def handle_event(event_id: int, path: str) -> str:
    """Run one handler for one event, once: the HandledEvent row commits with its effects."""
    event = DomainEvent.objects.filter(id=event_id).first()
    if event is None:
        raise PermanentJobError(f"Event {event_id} no longer exists")
    fn = handlers_for(event.name).get(path)
    if fn is None:
        raise PermanentJobError(f"No handler {path} for {event.name}")
    try:
        with transaction.atomic():
            HandledEvent.objects.create(event=event, handler=path)
            fn(event)
    except IntegrityError:
        if HandledEvent.objects.filter(event=event, handler=path).exists():
            return "already handled"
        raise
    return "handled"
