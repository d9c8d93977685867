"""REST API v1: ``POST /leads/{id}/convert`` → ``{deal_id}`` (DESIGN §6).

Served by sales, which may import intake (DESIGN §2); the lead is fetched with intake's
access check, so sales users limited to their own records convert only their own leads.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from throughline.api.serializers import ServiceSerializer
from throughline.api.views import ApiView
from throughline.intake import access as intake_access
from throughline.sales.models import Pipeline, Stage
from throughline.sales.serializers import MONEY_HELP
from throughline.sales.services.lead_conversion import convert_lead


class ConvertSerializer(ServiceSerializer):
    service_names = {"pipeline_id": "pipeline", "stage_id": "stage"}

    pipeline_id = serializers.UUIDField(required=False, help_text="Default pipeline if left out.")
    stage_id = serializers.UUIDField(required=False, help_text="First stage if left out.")
    value = serializers.DecimalField(
        max_digits=16, decimal_places=4, required=False, help_text=MONEY_HELP
    )
    currency = serializers.CharField(max_length=3, required=False)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    expected_close_date = serializers.DateField(required=False, allow_null=True)


class ConvertedSerializer(serializers.Serializer):
    deal_id = serializers.UUIDField()
    lead_id = serializers.UUIDField()
    status = serializers.CharField(help_text="The lead's status: `converted`.")


def _get(model, pk, field: str):
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationError({field: "No such record."})
    return found


class LeadConvertView(ApiView):
    required_permissions = {"POST": "sales.edit"}
    serializer_class = ConvertSerializer  # service errors (``stage``) answer as ``stage_id``

    @extend_schema(request=ConvertSerializer, responses={201: ConvertedSerializer})
    def post(self, request, pk):
        lead = intake_access.access_lead(request.user, pk)
        serializer = ConvertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        data["pipeline"] = _get(Pipeline, data.get("pipeline"), "pipeline")
        data["stage"] = _get(Stage, data.get("stage"), "stage")
        deal = convert_lead(self.actor, lead, **data)
        return Response(
            {"deal_id": str(deal.pk), "lead_id": str(lead.pk), "status": "converted"},
            status=status.HTTP_201_CREATED,
        )


ROUTES: list = []
urlpatterns = [
    path("leads/<uuid:pk>/convert", LeadConvertView.as_view(), name="lead-convert"),
]
