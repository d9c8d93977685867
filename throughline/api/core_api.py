"""Core's endpoints: the domain event feed and ``/me``.

They would live in ``throughline/core/api.py`` like every app's; they sit in the api package
for now and are registered the same way (``ROUTES``, ``urlpatterns``).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from throughline.api.fields import UtcDateTimeField
from throughline.api.pagination import envelope_schema
from throughline.api.views import ApiView, ApiViewSet
from throughline.core.models import DomainEvent
from throughline.core.roles import ROLE_PERMISSIONS


class EventSerializer(serializers.Serializer):
    """A domain event: what changed (ids and facts, not copies of records)."""

    id = serializers.CharField(read_only=True, help_text="Opaque, increasing; pass as `after`.")
    name = serializers.CharField(read_only=True)
    subject_type = serializers.CharField(read_only=True)
    subject_id = serializers.CharField(read_only=True)
    payload = serializers.DictField(read_only=True)
    occurred_at = UtcDateTimeField(read_only=True)


class EventFeedPagination(BasePagination):
    """``?after=<id>&limit=`` over events in id order; ``next`` continues after the last one.

    At the end of the feed ``next`` is null: poll again later with the last id you saw.
    """

    default_limit = 100
    max_limit = 1000

    def paginate_queryset(self, queryset, request, view=None):
        params = request.query_params
        errors = {}
        try:
            after = int(params.get("after") or 0)
        except ValueError:
            errors["after"] = ["Give the id of the last event you saw."]
        try:
            limit = min(int(params.get("limit") or self.default_limit), self.max_limit)
            if limit < 1:
                raise ValueError
        except ValueError:
            errors["limit"] = [f"Give a number from 1 to {self.max_limit}."]
        if errors:
            raise exceptions.ValidationError(errors)
        rows = list(queryset.filter(id__gt=after).order_by("id")[: limit + 1])
        self.request = request
        self.has_more = len(rows) > limit
        self.page = rows[:limit]
        return self.page

    def get_paginated_response(self, data):
        next_url = None
        if self.has_more:
            url = self.request.build_absolute_uri()
            next_url = replace_query_param(url, "after", self.page[-1].id)
        return Response({"results": data, "next": next_url})

    def get_paginated_response_schema(self, schema):
        return envelope_schema(schema)

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": "after",
                "in": "query",
                "required": False,
                "description": "Only events after this id (from a previous page or poll).",
                "schema": {"type": "string"},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"At most this many (default {self.default_limit}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit},
            },
        ]


class EventViewSet(ApiViewSet):
    """The domain event feed (DESIGN §4): every change, in order, for integrations to follow.

    TRICKY: ids are allocated at insert, and on PostgreSQL a transaction that started earlier
    can commit a smaller id after a larger one was already read. A consumer polling right at
    the head of the feed may then miss an event; re-reading a short window behind the last id
    seen (and de-duplicating by id) covers it.
    """

    serializer_class = EventSerializer
    pagination_class = EventFeedPagination
    required_permissions = {"list": "audit.view"}

    def get_queryset(self):
        return DomainEvent.objects.all()

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class MeSerializer(serializers.Serializer):
    """The token's user."""

    email = serializers.EmailField()
    full_name = serializers.CharField()
    role = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())


class MeView(ApiView):
    """The token's user, role and what the role allows."""

    required_permissions = {"GET": "login"}

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        user = request.user
        return Response(
            MeSerializer(
                {
                    "email": user.email,
                    "full_name": user.full_name,
                    "role": user.role,
                    "permissions": sorted(ROLE_PERMISSIONS.get(user.role, ())),
                }
            ).data
        )


ROUTES = [
    ("events", EventViewSet, "event"),
]

urlpatterns = [
    path("me", MeView.as_view(), name="me"),
]
