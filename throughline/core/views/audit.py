"""Reading the audit log: the whole log with filters, and one record's history.

Pages are keyset-paginated on ``seq`` ("older than #n" / "newer than #n"): the log only grows,
and counting millions of rows for page numbers would cost more than the page itself.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import QuerySet
from django.http import QueryDict
from django.shortcuts import render

from throughline.core.access import requires
from throughline.core.forms import AuditFilterForm
from throughline.core.models import AuditEntry, Organization

PAGE_SIZE = 50


@dataclass
class Page:
    entries: list[AuditEntry]
    newer_query: str | None
    older_query: str | None


def _cursor(params: QueryDict, name: str) -> int | None:
    try:
        value = int(params.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def paginate(queryset: QuerySet[AuditEntry], params: QueryDict, size: int = PAGE_SIZE) -> Page:
    before, after = _cursor(params, "before"), _cursor(params, "after")
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: size + 1])
        has_newer, has_older = len(rows) > size, True
        entries = list(reversed(rows[:size]))
    else:
        if before is not None:
            queryset = queryset.filter(seq__lt=before)
        rows = list(queryset.order_by("-seq")[: size + 1])
        has_newer, has_older = before is not None, len(rows) > size
        entries = rows[:size]

    def link(name: str, seq: int) -> str:
        query = params.copy()
        for key in ("before", "after"):
            query.pop(key, None)
        query[name] = str(seq)
        return query.urlencode()

    return Page(
        entries=[_with_change_rows(e) for e in entries],
        newer_query=link("after", entries[0].seq) if entries and has_newer else None,
        older_query=link("before", entries[-1].seq) if entries and has_older else None,
    )


def _with_change_rows(entry: AuditEntry) -> AuditEntry:
    """``changes`` as rows (field, before, after) for the template."""
    rows: list[tuple[str, Any, Any]] = []
    changes = entry.changes if isinstance(entry.changes, dict) else {"value": entry.changes}
    for field, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            rows.append((field, value[0], value[1]))
        else:
            rows.append((field, None, value))
    entry.change_rows = rows
    return entry


def known_object_types() -> list[str]:
    """Suggestions for the filter: our models' labels (a DISTINCT over the log would scan it)."""
    ours = {
        model._meta.label_lower
        for model in apps.get_models()
        if model.__module__.startswith("throughline.")
    }
    return sorted(ours | {"route", "tasks.job"})


def _local_midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def filtered(form: AuditFilterForm) -> QuerySet[AuditEntry]:
    queryset = AuditEntry.objects.select_related("actor")
    if not form.is_valid():
        return queryset
    data = form.cleaned_data
    if data.get("actor"):
        queryset = queryset.filter(actor=data["actor"])
    if data.get("object_type"):
        queryset = queryset.filter(object_type=data["object_type"].strip().lower())
    if data.get("object_id"):
        queryset = queryset.filter(object_id=data["object_id"].strip())
    if data.get("action"):
        queryset = queryset.filter(action__startswith=data["action"].strip())
    if data.get("channel"):
        queryset = queryset.filter(channel=data["channel"])
    # Dates are days of the organization's calendar, not UTC days.
    tz = zoneinfo.ZoneInfo(Organization.current().time_zone)
    if data.get("date_from"):
        queryset = queryset.filter(at__gte=_local_midnight(data["date_from"], tz))
    if data.get("date_to"):
        queryset = queryset.filter(
            at__lt=_local_midnight(data["date_to"] + dt.timedelta(days=1), tz)
        )
    return queryset


@requires("audit.view")
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    page = paginate(filtered(form), request.GET)
    context = {
        "form": form,
        "page": page,
        "object_types": known_object_types(),
        "filtering": any(request.GET.get(name) for name in form.fields),
    }
    # htmx filters and page links swap only the results.
    template = (
        "core/_audit_results.html"
        if request.htmx and not request.htmx.boosted
        else "core/audit_log.html"
    )
    return render(request, template, context)


@requires("audit.view")
def audit_for_object(request, object_type: str, object_id: str):
    """One record's history; other pages link here (``core:audit_for_object``)."""
    queryset = AuditEntry.objects.select_related("actor").filter(
        object_type=object_type, object_id=object_id
    )
    page = paginate(queryset, request.GET)
    context = {
        "page": page,
        "object_type": object_type,
        "object_id": object_id,
        "object_repr": page.entries[0].object_repr if page.entries else "",
    }
    return render(request, "core/audit_for_object.html", context)
