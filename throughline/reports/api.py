"""REST API v1 of reports (DESIGN §6): ``reports/kpis``, ``reports/aging``, ``reports/dso``,
``reports/forecast``… read-only, permission ``reports.view``; bad parameters answer 400 as
problem+json with the parameter named in ``errors``. ``reports/spend`` (marketing spend per
source and month) is a resource: read with ``reports.view``, written with ``reports.spend``."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from throughline.api.views import ApiView, ApiViewSet
from throughline.reports import aging, backtest, dso, forecast
from throughline.reports.common import ReportParamError, org_today, parse_date, parse_int
from throughline.reports.kpis import kpis
from throughline.reports.kpis.filters import Filters
from throughline.reports.serialize import aging_payload, jsonable


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
    """Lead response, funnel by source, sales, billing (with invoiced and collected per
    month), billing per client and delivery KPIs of a period."""

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


class SpendSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    source = serializers.CharField(help_text="Lead source slug.")
    month = serializers.CharField(help_text="YYYY-MM (a date is taken as its month).")
    amount = serializers.CharField(help_text="Decimal string, at most the minor unit's places.")
    currency = serializers.CharField(required=False, help_text="The base currency (default).")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    created_by = serializers.EmailField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def to_representation(self, entry):
        return {
            "id": str(entry.pk),
            "source": entry.source.slug,
            "month": entry.month.strftime("%Y-%m"),
            "amount": f"{entry.amount:f}",
            "currency": entry.currency,
            "note": entry.note,
            "created_by": entry.created_by.email if entry.created_by else None,
            "created_at": jsonable(entry.created_at),
            "updated_at": jsonable(entry.updated_at),
        }


class SpendUpdateSerializer(serializers.Serializer):
    amount = serializers.CharField(required=False)
    currency = serializers.CharField(required=False)
    note = serializers.CharField(required=False, allow_blank=True)


class SpendViewSet(ApiViewSet):
    """Marketing spend per lead source and month. ``POST`` sets a month's spend of a source
    (201 new, 200 when it replaced that month's amount and note)."""

    serializer_class = SpendSerializer
    required_permissions = {
        "list": "reports.view",
        "retrieve": "reports.view",
        "create": "reports.spend",
        "partial_update": "reports.spend",
        "destroy": "reports.spend",
    }

    def get_queryset(self):
        from throughline.reports.models import SourceSpend

        entries = SourceSpend.objects.select_related("source", "created_by")
        if getattr(self, "swagger_fake_view", False):
            return entries.none()
        return entries.order_by("-month", "source__slug")

    def get_object(self):
        from django.shortcuts import get_object_or_404

        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        parameters=[
            _param("from", "Only months from this day's month on."),
            _param("to", "Only months up to this day's month."),
            _param("source", "Only this lead source (slug).", OpenApiTypes.STR),
        ]
    )
    def list(self, request):
        from throughline.reports.spend import first_of_month

        entries, params = self.get_queryset(), request.query_params
        try:
            if params.get("from"):
                entries = entries.filter(
                    month__gte=first_of_month(parse_date(params["from"], "from"))
                )
            if params.get("to"):
                entries = entries.filter(month__lte=parse_date(params["to"], "to"))
        except ReportParamError as exc:
            raise exceptions.ValidationError({exc.field: [str(exc)]}) from exc
        if params.get("source", "").strip():
            entries = entries.filter(source__slug=params["source"].strip())
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=SpendSerializer, responses={201: SpendSerializer, 200: SpendSerializer})
    def create(self, request):
        from throughline.reports.spend import record_spend

        serializer = SpendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry, created = record_spend(self.actor, **serializer.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.get_serializer(entry).data, status=code)

    @extend_schema(request=SpendUpdateSerializer, responses={200: SpendSerializer})
    def partial_update(self, request, pk):
        from throughline.reports.spend import update_spend

        serializer = SpendUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = update_spend(self.actor, self.get_object(), **serializer.validated_data)
        return Response(self.get_serializer(entry).data)

    def destroy(self, request, pk):
        from throughline.reports.spend import delete_spend

        delete_spend(self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [("reports/spend", SpendViewSet, "report-spend")]

urlpatterns = [
    path("reports/kpis", KpiReportView.as_view(), name="reports-kpis"),
    path("reports/aging", AgingReportView.as_view(), name="reports-aging"),
    path("reports/dso", DsoReportView.as_view(), name="reports-dso"),
    path("reports/forecast", ForecastReportView.as_view(), name="reports-forecast"),
    path("reports/backtest", BacktestReportView.as_view(), name="reports-backtest"),
    path("reports/review", WeeklyReviewView.as_view(), name="reports-review"),
]
