"""REST API v1 of booking and routing: meetings, and each lead's assignment history.

``GET /bookings`` (``?lead=``, ``?host=me|email``, ``?status=``), ``GET /bookings/{id}``,
``POST /bookings/{id}/cancel {reason}``; ``GET /lead-assignments?lead=<id>``. Sales limited
to their own records see the meetings they host or of their leads.
"""

from __future__ import annotations

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.fields import UserEmailField, UtcDateTimeField
from throughline.api.pagination import OpaqueCursorPagination
from throughline.api.views import ApiViewSet
from throughline.crm.access import own_records_only
from throughline.intake import access
from throughline.intake.booking import services
from throughline.intake.booking.models import Meeting
from throughline.intake.routing.models import Assignment

LEAD = OpenApiParameter("lead", str, description="Only those of this lead (id).")
HOST = OpenApiParameter("host", str, description="Host's e-mail address, or `me`.")
STATUS = OpenApiParameter(
    "status", str, enum=Meeting.Status.values, description="Only this status."
)


class MeetingSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=Meeting.Status.choices, read_only=True)
    title = serializers.CharField(read_only=True)
    host = UserEmailField(read_only=True, help_text="The host's e-mail.")
    contact_id = serializers.UUIDField(read_only=True)
    lead_id = serializers.UUIDField(read_only=True, allow_null=True)
    starts_at = UtcDateTimeField(read_only=True)
    ends_at = UtcDateTimeField(read_only=True)
    attendee_name = serializers.CharField(read_only=True)
    attendee_email = serializers.CharField(read_only=True)
    attendee_time_zone = serializers.CharField(read_only=True)
    location = serializers.CharField(read_only=True)
    sequence = serializers.IntegerField(read_only=True, help_text="iCalendar SEQUENCE")
    cancelled_at = UtcDateTimeField(read_only=True, allow_null=True)
    cancel_reason = serializers.CharField(read_only=True)
    created_at = UtcDateTimeField(read_only=True)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class AssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    lead_id = serializers.UUIDField(read_only=True)
    kind = serializers.ChoiceField(choices=Assignment.Kind.choices, read_only=True)
    owner = UserEmailField(read_only=True, allow_null=True)
    previous_owner = UserEmailField(read_only=True, allow_null=True)
    rule_id = serializers.UUIDField(read_only=True, allow_null=True)
    rule_name = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True)
    at = UtcDateTimeField(read_only=True)


def meetings_for(user):
    meetings = Meeting.objects.select_related("host")
    if own_records_only(user):
        meetings = meetings.filter(Q(host=user) | Q(lead__in=access.leads_for(user)))
    return meetings


class MeetingViewSet(ApiViewSet):
    serializer_class = MeetingSerializer
    required_permissions = {"list": "leads.view", "retrieve": "leads.view", "cancel": "leads.edit"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Meeting.objects.none()
        meetings = meetings_for(self.request.user)
        params = self.request.query_params
        if params.get("lead", "").strip():
            lead = access.access_lead(self.request.user, params["lead"].strip())
            meetings = meetings.filter(lead=lead)
        host = params.get("host", "").strip()
        if host == "me":
            meetings = meetings.filter(host=self.request.user)
        elif host:
            meetings = meetings.filter(host__email__iexact=host)
        if params.get("status") in Meeting.Status.values:
            meetings = meetings.filter(status=params["status"])
        return meetings

    def get_object(self):
        return access._get(meetings_for(self.request.user), self.kwargs["pk"])

    @extend_schema(parameters=[LEAD, HOST, STATUS])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=CancelSerializer, responses=MeetingSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk):
        """Cancel: both sides get a cancellation with its .ics; the slot is free again."""
        meeting = self.get_object()
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        meeting = services.cancel_meeting(
            self.actor, meeting, reason=serializer.validated_data.get("reason", "")
        )
        return Response(self.get_serializer(meeting).data)


class AssignmentPagination(OpaqueCursorPagination):
    ordering = ("-at", "-id")


class AssignmentViewSet(ApiViewSet):
    serializer_class = AssignmentSerializer
    pagination_class = AssignmentPagination
    required_permissions = {"list": "leads.view"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        rows = Assignment.objects.select_related("owner", "previous_owner").filter(
            lead__in=access.leads_for(self.request.user)
        )
        if self.request.query_params.get("lead", "").strip():
            lead = access.access_lead(self.request.user, self.request.query_params["lead"].strip())
            rows = rows.filter(lead=lead)
        return rows

    @extend_schema(parameters=[LEAD])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [
    ("bookings", MeetingViewSet, "booking"),
    ("lead-assignments", AssignmentViewSet, "lead-assignment"),
]
