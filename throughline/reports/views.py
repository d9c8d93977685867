"""Staff pages: the dashboard (filters: period, owner, source), aging drill-down, CSV exports."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from throughline.core import audit_log
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.reports import aging, backtest, csv_export, dso, forecast
from throughline.reports.api import filters_from
from throughline.reports.charts import bar_chart, grouped_bar_chart, line_chart
from throughline.reports.common import ReportParamError, installed, org_today
from throughline.reports.kpis import kpis
from throughline.reports.serialize import jsonable

EXPORTS = (
    "kpis",
    "funnel",
    "aging",
    "dso",
    "forecast",
    "backtest",
    "review",
    "clients",
    "billing-months",
)
BACKTEST_MONTHS = 6


def _filters(request):
    try:
        return filters_from(request.GET), None
    except ReportParamError as exc:
        today = org_today()
        return filters_from({"to": today.isoformat()}), f"{exc.field}: {exc}"


class Links:
    """Drill-down URLs carrying the dashboard's filters (period, owner, source)."""

    def __init__(self, filters):
        self.base = {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "owner": filters.owner,
            "source": filters.source,
        }

    def __call__(self, name: str, **extra) -> str:
        params = {k: v for k, v in {**self.base, **extra}.items() if v not in ("", None)}
        return reverse(f"reports:{name}") + "?" + urlencode(params)


def _lead_rows(table: dict, link: Links, param: str, owners: dict) -> list[dict]:
    rows = []
    for key, row in table.items():
        value = owners.get(key, "") if param == "owner" else key
        url = link("drill_leads", view="all", **{param: value}) if value else ""
        rows.append({"key": key, "row": row, "url": url})
    return rows


@requires("reports.view")
def dashboard(request):
    filters, error = _filters(request)
    link = Links(filters)
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
    has_billing = installed("billing") and figures["billing"] is not None
    owners = {u.email: str(u.pk) for u in User.objects.filter(is_active=True).order_by("email")}
    leads = figures["leads"]
    tested = backtest.cached_backtest(org_today(), BACKTEST_MONTHS) if has_billing else None
    context = {
        "filters": filters,
        "error": error,
        "owners": User.objects.filter(is_active=True).order_by("email"),
        "sources": _sources(),
        "aging": aged,
        "aging_chart": aging_chart,
        "has_billing": has_billing,
        "dso": dso.dso(as_of, period_days) if has_billing else None,
        "kpis": figures,
        "forecast": outlook,
        "forecast_chart": line_chart(
            [p["cumulative"] for p in series],
            ([p["cumulative_low"] for p in series], [p["cumulative_high"] for p in series]),
        ),
        "backtest": tested,
        "backtest_chart": bar_chart(
            [
                {
                    "label": row["month"],
                    "value": row["absolute_error"],
                    "display": f"{row['error']:f}",
                    "url": link("drill_payments", **_month_range(row["month"])),
                }
                for row in tested["months"]
            ],
            height=140,
        )
        if tested
        else None,
        "lead_sources": _lead_rows(leads["by_source"], link, "source", owners) if leads else [],
        "lead_owners": _lead_rows(leads["by_owner"], link, "owner", owners) if leads else [],
        "can_export": request.user.can("reports.export"),
        "spend_url": reverse("reports:spend") if request.user.can("reports.spend") else "",
        "query": urlencode({k: v for k, v in link.base.items() if v}),
        "links": {
            "ar": link("drill_invoices", view="open"),
            "overdue": link("drill_invoices", view="overdue"),
            "issued": link("drill_invoices", view="issued"),
            "payments": link("drill_payments"),
            "forecast_invoices": link("drill_invoices", view="open", to=org_today().isoformat()),
            "forecast_deals": link("drill_deals", view="open"),
            "leads": link("drill_leads", view="all"),
            "answered": link("drill_leads", view="answered"),
            "within_5_min": link("drill_leads", view="within_5_min"),
            "breached": link("drill_leads", view="breached"),
            "qualified": link("drill_leads", view="qualified"),
            "deals_open": link("drill_deals", view="open"),
            "deals_won": link("drill_deals", view="won"),
            "deals_lost": link("drill_deals", view="lost"),
            "deals_from_leads": link("drill_deals", view="from_leads"),
            "won_from_leads": link("drill_deals", view="won_from_leads"),
            "proposals": link("drill_proposals"),
            "milestones_late": link("drill_milestones", view="late"),
            "milestones_delivered": link("drill_milestones", view="delivered"),
        },
    }
    if has_billing:
        context["billing_months_chart"] = _billing_months(figures["billing"], link)
    if figures["sales"]:
        for row in figures["sales"]["pipeline"]:
            row["url"] = link(
                "drill_deals", view="open", month=row["month"], currency=row["currency"]
            )
    if figures["clients"]:
        for row in figures["clients"]["days_to_pay"]:
            row["url"] = link(
                "drill_invoices", view="paid", contact=row["contact_id"], currency=row["currency"]
            )
        for row in figures["clients"]["overdue"]:
            row["url"] = link(
                "drill_invoices",
                view="overdue",
                to=org_today().isoformat(),
                contact=row["contact_id"],
                currency=row["currency"],
            )
    if leads:
        for row in leads["funnel"]["lost_reasons"]:
            row["url"] = link("drill_deals", view="lost", reason=row["reason"])
        for source, row in leads["funnel"]["by_source"].items():
            row["urls"] = {
                "leads": link("drill_leads", view="all", source=source),
                "qualified": link("drill_leads", view="qualified", source=source),
                "deals": link("drill_deals", view="from_leads", source=source),
                "won": link("drill_deals", view="won_from_leads", source=source),
            }
    return render(request, "reports/dashboard.html", context)


def _billing_months(billing: dict, link: Links) -> dict:
    """Each month's invoiced and collected linked to their records (the month's clipped
    dates); the grouped bar chart of both."""
    for row in billing["months"]:
        days = {"from": row["from"].isoformat(), "to": row["to"].isoformat()}
        row["clipped"] = row["from"].day != 1 or (row["to"] + dt.timedelta(days=1)).day != 1
        row["urls"] = {
            "invoiced": link("drill_invoices", view="issued", **days),
            "collected": link("drill_payments", **days),
        }
    return grouped_bar_chart(
        [
            {
                "label": row["month"],
                "bars": [
                    {"value": row[key], "display": f"{row[key]:f}", "url": row["urls"][key]}
                    for key in ("invoiced", "collected")
                ],
            }
            for row in billing["months"]
        ],
        ["Invoiced", "Collected"],
    )


def _month_range(month: str) -> dict:
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return {"from": first.isoformat(), "to": last.isoformat(), "owner": "", "source": ""}


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
    elif report == "backtest":
        body = csv_export.backtest_csv(backtest.backtest(org_today(), BACKTEST_MONTHS))
    elif report == "clients":
        from throughline.reports.kpis.clients import client_tables

        body = csv_export.clients_csv(client_tables(filters))
    elif report == "billing-months":
        from throughline.reports.kpis.billing import billing_kpis

        body = csv_export.billing_months_csv(billing_kpis(filters))
    elif report == "funnel":
        from throughline.reports.kpis.leads import lead_kpis

        leads = lead_kpis(filters)
        body = csv_export.funnel_csv(leads["funnel"] if leads else None)
    elif report == "review":
        from throughline.reports.review import review_for

        body = csv_export.review_csv(review_for(as_of))
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
