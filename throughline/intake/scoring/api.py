"""REST API v1: ``POST /leads/{id}/qualify {decision: accept|nurture|reject, reason}``.

``accept`` schedules discovery (the owner's booking link is e-mailed, ``lead.qualified``),
``nurture`` enrols the lead in the rubric's sequence (``lead.nurtured``), ``reject`` closes it
with the reason (``lead.rejected``; the polite decline e-mail if the rubric sends one).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from throughline.api.serializers import ServiceSerializer
from throughline.api.views import ApiView
from throughline.intake import access
from throughline.intake.scoring import qualification


class QualifySerializer(ServiceSerializer):
    decision = serializers.ChoiceField(
        choices=["accept", "nurture", "reject"],
        help_text="`accept` (schedule discovery), `nurture` or `reject`.",
    )
    reason = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="Required to reject."
    )


class LeadQualificationSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="new, contacted, qualified, nurturing, rejected or converted."
    )
    status_reason = serializers.CharField(read_only=True)
    score = serializers.IntegerField(read_only=True)
    tier = serializers.CharField(read_only=True, help_text="`hot`, `warm`, `cold` (or empty).")
    conversion_probability = serializers.FloatField(
        read_only=True, allow_null=True, help_text="From the learned model, when one is in use."
    )
    qualification = serializers.DictField(
        read_only=True, help_text="The rubric's outcome, points and reasons; who decided."
    )


class LeadQualifyView(ApiView):
    required_permissions = {"POST": "leads.edit"}

    @extend_schema(request=QualifySerializer, responses=LeadQualificationSerializer)
    def post(self, request, pk):
        lead = access.access_lead(request.user, pk)
        serializer = QualifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        lead = qualification.decide(self.actor, lead, data["decision"], data.get("reason", ""))
        lead.refresh_from_db()
        return Response(LeadQualificationSerializer(lead).data)


ROUTES: list = []
urlpatterns = [
    path("leads/<uuid:pk>/qualify", LeadQualifyView.as_view(), name="lead-qualify"),
]
