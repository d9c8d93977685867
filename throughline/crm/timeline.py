"""One timeline per contact: everything that happened to that person, newest first.

Other apps add their own entries (leads, deals, invoices …) with ``@timeline_source``, so
the contact page shows them without the CRM importing those apps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from throughline.core.models import AuditEntry
from throughline.crm.models import Contact


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # note, call, email, meeting, task, consent, audit, …
    title: str
    body: str = ""
    actor: str = ""
    url: str = ""
    extra: dict = field(default_factory=dict)


Source = Callable[[Contact, int], Iterable[TimelineEntry]]
_sources: list[Source] = []


def timeline_source(fn: Source) -> Source:
    _sources.append(fn)
    return fn


@timeline_source
def _activities(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    for a in contact.activities.select_related("author").order_by("-occurred_at")[:limit]:
        yield TimelineEntry(
            at=a.occurred_at,
            kind=a.kind,
            title=a.subject or a.get_kind_display(),
            body=a.body,
            actor=str(a.author) if a.author else "",
            extra={"direction": a.direction, "duration_seconds": a.duration_seconds},
        )


@timeline_source
def _tasks(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    for t in contact.tasks.select_related("owner").order_by("-created_at")[:limit]:
        state = "done" if t.is_done else "open"
        yield TimelineEntry(
            at=t.done_at or t.created_at,
            kind="task",
            title=f"Task {state}: {t.title}",
            body=t.description,
            actor=str(t.owner) if t.owner else "",
        )


@timeline_source
def _consents(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    for c in contact.consents.order_by("-recorded_at")[:limit]:
        verb = "gave" if c.granted else "withdrew"
        yield TimelineEntry(
            at=c.recorded_at,
            kind="consent",
            title=f"{verb.capitalize()} consent: {c.purpose} (wording v{c.wording_version})",
            body=c.wording,
            actor=c.source,
        )


@timeline_source
def _changes(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    entries = AuditEntry.objects.filter(object_type="crm.contact", object_id=str(contact.pk))
    for e in entries.order_by("-seq")[:limit]:
        fields = ", ".join(sorted(e.changes)) if e.changes else ""
        yield TimelineEntry(
            at=e.at,
            kind="audit",
            title=e.action.replace(".", " ").capitalize(),
            body=f"Changed: {fields}" if fields and e.action.endswith("updated") else "",
            actor=e.actor_label,
        )


def timeline_for(contact: Contact, limit: int = 100) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = []
    for source in _sources:
        entries.extend(source(contact, limit))
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]
