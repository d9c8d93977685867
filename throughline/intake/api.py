"""REST API v1 of intake: ``POST /leads`` (DESIGN §6), ``GET /leads``, ``GET /leads/{id}``.

The API is one more channel: it turns the request into a ``LeadInput``, validates it and looks
its person up before the write transaction (``capture.prepare``, from ``prepare_write``), and
captures it inside (``capture.capture_prepared``). ``Idempotency-Key``, the transaction,
authentication, the role check and problem responses come from ``ApiViewSet`` (api/views.py).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from throughline.api.views import ApiViewSet
from throughline.intake import access
from throughline.intake.capture import LeadInput, capture_prepared, prepare
from throughline.intake.models import Lead
from throughline.intake.serializers import LeadCreateSerializer, LeadSerializer

STATUS = OpenApiParameter("status", str, enum=Lead.Status.values, description="Only this status.")
SOURCE = OpenApiParameter("source", str, description="Only leads from this source (slug).")
OWNER = OpenApiParameter("owner", str, description="Owner's e-mail address, or `me`.")


class LeadViewSet(ApiViewSet):
    serializer_class = LeadSerializer
    required_permissions = {
        "list": "leads.view",
        "retrieve": "leads.view",
        "create": "leads.edit",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Lead.objects.none()
        leads = access.leads_for(self.request.user)
        params = self.request.query_params
        if params.get("status", "").strip():
            leads = leads.filter(status=params["status"].strip())
        if params.get("source", "").strip():
            leads = leads.filter(source__slug=params["source"].strip())
        owner = params.get("owner", "").strip()
        if owner == "me":
            leads = leads.filter(owner=self.request.user)
        elif owner:
            leads = leads.filter(owner__email__iexact=owner)
        return leads

    def get_object(self):
        return access.access_lead(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[STATUS, SOURCE, OWNER])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    def prepare_write(self, request, *args, **kwargs) -> None:
        # Validation and the person's look-up run before the write transaction (see
        # ``capture.prepare``).
        if self.action != "create":
            return
        serializer = LeadCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        consents = data.pop("consent", [])
        actor = self.actor
        self.prepared = prepare(
            actor,
            LeadInput(
                **data,
                consents=consents,
                channel=Lead.Channel.API,
                raw=request.data,
                ip=actor.ip,
            ),
        )

    @extend_schema(request=LeadCreateSerializer, responses={201: LeadSerializer})
    def create(self, request):
        """Capture a lead: a known person (same e-mail or phone) keeps their ``contact_id``."""
        result = capture_prepared(self.actor, self.prepared)
        return Response(self.get_serializer(result.lead).data, status=status.HTTP_201_CREATED)


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [("leads", LeadViewSet, "lead")]
