"""Staff pages: the dashboard (filters: period, owner, source), aging drill-down, CSV exports."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from throughline.core import audit_log
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.reports import aging, csv_export, dso, forecast
from throughline.reports.api import filters_from
from throughline.reports.charts import bar_chart, line_chart
from throughline.reports.common import ReportParamError, installed, org_today
from throughline.reports.kpis import kpis
from throughline.reports.serialize import jsonable

EXPORTS = ("kpis", "aging", "dso", "forecast")


def _url(name: str, query: str = "") -> str:
    try:
        return reverse(name) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return ""


def _filters(request):
    try:
        return filters_from(request.GET), None
    except ReportParamError as exc:
        today = org_today()
        return filters_from({"to": today.isoformat()}), f"{exc.field}: {exc}"


@requires("reports.view")
def dashboard(request):
    filters, error = _filters(request)
    as_of = filters.end
    period_days = (filters.end - filters.start).days + 1
    aged = aging.aging(as_of)
    figures = kpis(filters)
    outlook = forecast.forecast(org_today(), 90)
    aging_chart = bar_chart(
        [
            {
                "label": aging.BUCKET_LABELS[key],
                "value": aged["buckets"][key],
                "display": f"{aged['buckets'][key]:f}",
                "url": reverse("reports:aging_bucket", args=[key]) + f"?as_of={as_of}",
            }
            for key in aging.BUCKETS
        ]
    )
    series = outlook["series"]
    context = {
        "filters": filters,
        "error": error,
        "owners": User.objects.filter(is_active=True).order_by("email"),
        "sources": _sources(),
        "aging": aged,
        "aging_chart": aging_chart,
        "has_billing": installed("billing") and figures["billing"] is not None,
        "dso": dso.dso(as_of, period_days) if figures["billing"] else None,
        "kpis": figures,
        "forecast": outlook,
        "forecast_chart": line_chart(
            [p["cumulative"] for p in series],
            ([p["cumulative_low"] for p in series], [p["cumulative_high"] for p in series]),
        ),
        "can_export": request.user.can("reports.export"),
        "query": request.GET.urlencode(),
        "links": {
            "invoices": _url("billing:invoice_list"),
            "overdue": _url("billing:invoice_list", "overdue=1"),
            "leads": _url("intake:inbox"),
            "deals": _url("sales:deal_board"),
            "proposals": _url("sales:proposal_list"),
            "payments": _url("billing:payment_list"),
        },
    }
    return render(request, "reports/dashboard.html", context)


def _sources():
    if not installed("intake"):
        return []
    from throughline.intake.models import LeadSource

    return list(LeadSource.objects.order_by("name").values_list("slug", "name"))


@requires("reports.view")
def aging_bucket(request, bucket: str):
    """The invoices behind one aging bar."""
    if bucket not in aging.BUCKETS:
        raise Http404
    try:
        as_of = dt.date.fromisoformat(request.GET.get("as_of", ""))
    except ValueError:
        as_of = org_today()
    rows = [r for r in aging.open_invoices(as_of) if r.bucket == bucket]
    return render(
        request,
        "reports/aging_bucket.html",
        {"bucket": bucket, "label": aging.BUCKET_LABELS[bucket], "as_of": as_of, "rows": rows},
    )


@requires("reports.export")
def export(request, report: str):
    if report not in EXPORTS:
        raise Http404
    filters, _error = _filters(request)
    as_of = filters.end
    if report == "aging":
        body = csv_export.aging_csv(aging.aging(as_of), aging.open_invoices(as_of))
    elif report == "dso":
        days = (filters.end - filters.start).days + 1
        body = csv_export.key_value_csv(dso.dso(as_of, days))
    elif report == "forecast":
        body = csv_export.forecast_csv(forecast.forecast(org_today(), 90))
    else:
        body = csv_export.key_value_csv(jsonable(kpis(filters)))
    with transaction.atomic():
        audit_log.record(
            Actor.from_request(request),
            "report.exported",
            object_type="report",
            object_id=report,
            object_repr=f"{report} report ({filters.start} – {filters.end})",
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
