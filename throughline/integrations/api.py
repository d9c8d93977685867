"""REST API v1: webhook subscriptions and their deliveries (DESIGN §6 ``webhooks``).

* ``/webhooks`` — list, create (answers with the signing secret, once), read, change (``PATCH``;
  ``is_active`` disables or enables), delete; ``POST /webhooks/{id}/rotate-secret``.
* ``/webhooks/{id}/deliveries`` — that endpoint's delivery log (``?status=``), newest first;
  ``/webhooks/{id}/deliveries/{delivery_id}`` — one delivery with its attempts;
  ``POST …/{delivery_id}/replay`` — send it again as a new attempt.

Reading needs ``integrations.view``, changing ``integrations.manage`` (owners and admins).
"""

from __future__ import annotations

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.views import ApiViewSet
from throughline.integrations import services
from throughline.integrations.models import WebhookDelivery, WebhookEndpoint
from throughline.integrations.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    RotateSecretSerializer,
    WebhookSerializer,
    WebhookWithSecretSerializer,
)

STATUS = OpenApiParameter(
    "status", str, description="Only `pending`, `succeeded`, `failed` or `cancelled` ones."
)
DELIVERY_ID = OpenApiParameter(
    "delivery_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="A delivery's id."
)
DELIVERY_PATH = r"deliveries/(?P<delivery_id>[^/.]+)"


class WebhookViewSet(ApiViewSet):
    serializer_class = WebhookSerializer
    required_permissions = {
        "list": "integrations.view",
        "retrieve": "integrations.view",
        "create": "integrations.manage",
        "partial_update": "integrations.manage",
        "destroy": "integrations.manage",
        "rotate_secret": "integrations.manage",
        "deliveries": "integrations.view",
        "delivery": "integrations.view",
        "replay": "integrations.manage",
    }

    def get_queryset(self):
        return WebhookEndpoint.objects.select_related("owner")

    def get_object(self):
        try:
            return self.get_queryset().get(pk=uuid.UUID(str(self.kwargs["pk"])))
        except (ValueError, WebhookEndpoint.DoesNotExist) as exc:
            raise exceptions.NotFound("No webhook with this id.") from exc

    def get_delivery(self) -> WebhookDelivery:
        endpoint = self.get_object()
        try:
            return endpoint.deliveries.prefetch_related("attempts").get(
                pk=uuid.UUID(str(self.kwargs["delivery_id"]))
            )
        except (ValueError, WebhookDelivery.DoesNotExist) as exc:
            raise exceptions.NotFound("This webhook has no delivery with this id.") from exc

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookWithSecretSerializer})
    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        active = data.pop("is_active", True)
        endpoint = services.create_endpoint(self.actor, **data)
        if not active:
            services.disable_endpoint(self.actor, endpoint, "created disabled")
            endpoint.refresh_from_db()
        return Response(WebhookWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk):
        endpoint = self.get_object()
        serializer = self.get_serializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        active = data.pop("is_active", None)
        if data:
            endpoint = services.update_endpoint(self.actor, endpoint, **data)
        if active is False:
            services.disable_endpoint(self.actor, endpoint)
        elif active is True:
            services.enable_endpoint(self.actor, endpoint, resend_stopped=True)
        endpoint.refresh_from_db()
        return Response(self.get_serializer(endpoint).data)

    def destroy(self, request, pk):
        services.delete_endpoint(self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RotateSecretSerializer, responses=WebhookWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk):
        """A new signing secret; the old one keeps signing for ``overlap_hours`` (24)."""
        options = RotateSecretSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        endpoint = services.rotate_secret(
            self.actor, self.get_object(), overlap_hours=options.validated_data.get("overlap_hours")
        )
        return Response(WebhookWithSecretSerializer(endpoint).data)

    @extend_schema(parameters=[STATUS], responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request, pk):
        """The endpoint's deliveries, newest first."""
        queryset = self.get_object().deliveries.all()
        state = request.query_params.get("status", "").strip()
        if state:
            if state not in WebhookDelivery.Status.values:
                raise exceptions.ValidationError(
                    {"status": [f"One of {', '.join(WebhookDelivery.Status.values)}."]}
                )
            queryset = queryset.filter(status=state)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(parameters=[DELIVERY_ID], responses=DeliveryDetailSerializer)
    @action(detail=True, methods=["get"], url_path=DELIVERY_PATH)
    def delivery(self, request, pk, delivery_id):
        """One delivery: the body sent, and every attempt with its request and answer."""
        return Response(DeliveryDetailSerializer(self.get_delivery()).data)

    @extend_schema(parameters=[DELIVERY_ID], request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], url_path=DELIVERY_PATH + "/replay")
    def replay(self, request, pk, delivery_id):
        """Send a finished delivery again as one new attempt (same body, fresh signature)."""
        item = services.replay_delivery(self.actor, self.get_delivery())
        return Response(DeliverySerializer(item).data, status=status.HTTP_202_ACCEPTED)


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [
    ("webhooks", WebhookViewSet, "webhook"),
]
