"""REST API v1 of reports (DESIGN §6): ``reports/kpis``, ``reports/aging``, ``reports/dso``,
``reports/forecast``. Read-only; permission ``reports.view``; bad parameters answer 400 as
problem+json with the parameter named in ``errors``."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from throughline.api.views import ApiView
from throughline.reports import aging, backtest, dso, forecast
from throughline.reports.common import ReportParamError, org_today, parse_date, parse_int
from throughline.reports.kpis import kpis
from throughline.reports.kpis.filters import Filters
from throughline.reports.serialize import aging_payload, jsonable

ROUTES: list = []


def _param(name, description, kind=OpenApiTypes.DATE):
    return OpenApiParameter(name, kind, description=description)


class ReportView(ApiView):
    required_permissions = {"GET": "reports.view"}

    def get(self, request):
        try:
            return Response(self.report(request.query_params))
        except ReportParamError as exc:
            raise exceptions.ValidationError({exc.field: [str(exc)]}) from exc


class KpiReportView(ReportView):
    """Lead response, funnel by source, sales, billing, billing per client and delivery KPIs
    of a period."""

    @extend_schema(
        parameters=[
            _param("from", "First day (default: 30 days before `to`)."),
            _param("to", "Last day, included (default: today)."),
            _param("owner", "Only this owner's records (user id).", OpenApiTypes.STR),
            _param("source", "Only this lead source (slug).", OpenApiTypes.STR),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return super().get(request)

    def report(self, params):
        filters = filters_from(params)
        return jsonable(kpis(filters))


def filters_from(params) -> Filters:
    import datetime as dt

    end = parse_date(params.get("to"), "to", org_today())
    start = parse_date(params.get("from"), "from", end - dt.timedelta(days=29))
    if start > end:
        raise ReportParamError("from", "`from` must not be after `to`.")
    return Filters(start, end, params.get("owner", "").strip(), params.get("source", "").strip())


class AgingReportView(ReportView):
    """Accounts receivable open at `as_of`, in the base currency, by days past due."""

    @extend_schema(parameters=[_param("as_of", "Default: today.")], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return super().get(request)

    def report(self, params):
        return aging_payload(aging.aging(parse_date(params.get("as_of"), "as_of", org_today())))


class DsoReportView(ReportView):
    """Days sales outstanding: period method and countback."""

    @extend_schema(
        parameters=[
            _param("as_of", "Default: today."),
            _param("days", "Length of the period (default 90).", OpenApiTypes.INT),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return super().get(request)

    def report(self, params):
        as_of = parse_date(params.get("as_of"), "as_of", org_today())
        return jsonable(dso.dso(as_of, parse_int(params.get("days"), "days", 90)))


class ForecastReportView(ReportView):
    """Expected receipts day by day, with a p10–p90 band."""

    @extend_schema(
        parameters=[_param("days", "Horizon in days (default 90).", OpenApiTypes.INT)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return super().get(request)

    def report(self, params):
        days = parse_int(params.get("days"), "days", 90, hi=366)
        return jsonable(forecast.forecast(org_today(), days))


class BacktestReportView(ReportView):
    """The forecast run as of each past month's first day, against that month's receipts."""

    @extend_schema(
        parameters=[_param("months", "Past months (default 6, up to 24).", OpenApiTypes.INT)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return super().get(request)

    def report(self, params):
        months = parse_int(params.get("months"), "months", 6, hi=24)
        return jsonable(backtest.backtest(org_today(), months))


class WeeklyReviewView(ReportView):
    """The weekly momentum review of a week (default: this week), as it is stored."""

    @extend_schema(
        parameters=[_param("week", "Any day of the week (default: today).")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        return super().get(request)

    def report(self, params):
        from throughline.reports import review

        day = parse_date(params.get("week"), "week", org_today())
        found = review.review_for(day)
        return jsonable(review.review_payload(found) if found else {"week_start": None})


urlpatterns = [
    path("reports/kpis", KpiReportView.as_view(), name="reports-kpis"),
    path("reports/aging", AgingReportView.as_view(), name="reports-aging"),
    path("reports/dso", DsoReportView.as_view(), name="reports-dso"),
    path("reports/forecast", ForecastReportView.as_view(), name="reports-forecast"),
    path("reports/backtest", BacktestReportView.as_view(), name="reports-backtest"),
    path("reports/review", WeeklyReviewView.as_view(), name="reports-review"),
]
