"""Drill-down pages: the records behind each dashboard figure, with the dashboard's filters
(period, owner, source) and a ``view`` naming the figure; ``?format=csv`` exports them
(permission ``reports.export``, audited like every report export)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from throughline.core import audit_log
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.reports import drill
from throughline.reports.common import ReportParamError, installed
from throughline.reports.csv_export import to_csv
from throughline.reports.views import _filters

PAGE_SIZE = 100
TITLES = {
    ("invoices", "issued"): "Invoices and credit notes issued",
    ("invoices", "open"): "Invoices open (accounts receivable)",
    ("invoices", "overdue"): "Overdue invoices",
    ("invoices", "paid"): "Invoices paid in full",
    ("payments", ""): "Payments received",
    ("proposals", ""): "Proposals sent",
    ("milestones", "late"): "Milestones late",
    ("milestones", "delivered"): "Milestones delivered",
}


def _page(request, name: str, build, app: str):
    if not installed(app):
        return render(request, "reports/records.html", {"title": "Not installed", "rows": []})
    filters, error = _filters(request)
    view = request.GET.get("view", "")
    try:
        qs, columns, detail = build(filters, view)
    except ReportParamError as exc:
        return render(
            request,
            "reports/records.html",
            {"title": name.title(), "error": f"{exc.field}: {exc}", "rows": []},
            status=400,
        )
    title = TITLES.get((name, view)) or f"{name.title()} ({view or 'all'})"
    if request.GET.get("format") == "csv":
        return _csv(request, name, view, filters, qs, columns)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for record in page.object_list:
        try:
            url = detail(record) if callable(detail) else reverse(detail, args=[record.pk])
        except NoReverseMatch:
            url = ""
        rows.append({"url": url, "cells": [get(record) for _h, get in columns]})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "reports/records.html",
        {
            "title": title,
            "error": error,
            "filters": filters,
            "headings": [h for h, _g in columns],
            "rows": rows,
            "page": page,
            "query": query.urlencode(),
            "can_export": request.user.can("reports.export"),
        },
    )


def _csv(request, name, view, filters, qs, columns):
    if not request.user.can("reports.export"):
        raise PermissionDenied("Your role does not allow exporting reports.")
    body = to_csv([h for h, _g in columns], [[get(r) for _h, get in columns] for r in qs])
    report = f"records.{name}" + (f".{view}" if view else "")
    with transaction.atomic():
        audit_log.record(
            Actor.from_request(request),
            "report.exported",
            object_type="report",
            object_id=report,
            object_repr=f"{report} ({filters.start} – {filters.end})",
            changes={
                "report": [None, report],
                "from": [None, filters.start.isoformat()],
                "to": [None, filters.end.isoformat()],
                "owner": [None, filters.owner],
                "source": [None, filters.source],
            },
        )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{report}-{filters.start}-{filters.end}.csv"'
    )
    return response


@requires("reports.view")
def invoices(request):
    return _page(
        request,
        "invoices",
        lambda f, v: drill.invoices(
            request.user,
            v or "issued",
            f,
            contact=request.GET.get("contact", ""),
            currency=request.GET.get("currency", ""),
        ),
        "billing",
    )


@requires("reports.view")
def payments(request):
    return _page(request, "payments", lambda f, v: drill.payments(request.user, f), "billing")


@requires("reports.view")
def deals(request):
    params = request.GET
    return _page(
        request,
        "deals",
        lambda f, v: drill.deals(
            request.user,
            v or "open",
            f,
            month=params.get("month", ""),
            currency=params.get("currency", ""),
            reason=params.get("reason", ""),
        ),
        "sales",
    )


@requires("reports.view")
def leads(request):
    return _page(request, "leads", lambda f, v: drill.leads(request.user, v or "all", f), "intake")


@requires("reports.view")
def proposals(request):
    return _page(request, "proposals", lambda f, v: drill.proposals(request.user, f), "sales")


@requires("reports.view")
def milestones(request):
    return _page(
        request,
        "milestones",
        lambda f, v: drill.milestones(request.user, v or "late", f),
        "delivery",
    )
