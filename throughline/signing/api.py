"""REST API v1 of signing: ``contracts`` (DESIGN §6: ``/send``, ``/pdf``; also ``/void``).

Responses show each signer's progress, never a link or a one-time code (none is readable
anywhere; services.notify).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.views import ApiViewSet
from throughline.signing import access
from throughline.signing.models import Contract
from throughline.signing.serializers import (
    ContractCreateSerializer,
    ContractSendSerializer,
    ContractSerializer,
    ContractVoidSerializer,
)
from throughline.signing.services import contracts
from throughline.signing.views.contracts import contract_pdf_bytes, pdf_response

STATUS = OpenApiParameter(
    "status", str, description="draft, sent, signed, declined, voided, expired."
)
DEAL = OpenApiParameter("deal_id", str, description="Only contracts of this deal.")


class ContractViewSet(ApiViewSet):
    serializer_class = ContractSerializer
    required_permissions = {
        "list": "signing.view",
        "retrieve": "signing.view",
        "create": "signing.send",
        "send": "signing.send",
        "void": "signing.send",
        "pdf": "signing.view",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Contract.objects.none()
        items = access.contracts_for(self.request.user)
        params = self.request.query_params
        if params.get("status") in Contract.Status.values:
            items = items.filter(status=params["status"])
        deal_id = params.get("deal_id", "").strip()
        if deal_id:
            try:
                items = items.filter(deal_id=deal_id)
            except ValidationError:
                items = items.none()
        return items.order_by("-created_at")

    def get_object(self):
        return access.access_contract(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[STATUS, DEAL])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=ContractCreateSerializer, responses={201: ContractSerializer})
    def create(self, request):
        serializer = ContractCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            contract = contracts.create_contract(
                self.actor,
                data["proposal_id"],
                kind=data.get("document_kind"),
                template=data.get("template_id"),
                title=data.get("title", ""),
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and set(exc.error_dict) & {"template", "proposal"}:
                names = {
                    "template": "template_id",
                    "proposal": "proposal_id",
                    "kind": "document_kind",
                }
                renamed = {names.get(k, k): v for k, v in exc.message_dict.items()}
                raise ValidationError(renamed) from exc
            raise
        return Response(self.get_serializer(contract).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ContractSendSerializer,
        responses=ContractSerializer,
        description="Freezes the document and e-mails each signer (in order) a personal link.",
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk):
        contract = self.get_object()
        serializer = ContractSendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contracts.send_contract(self.actor, contract, **serializer.validated_data)
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=ContractVoidSerializer, responses=ContractSerializer)
    @action(detail=True, methods=["post"])
    def void(self, request, pk):
        contract = self.get_object()
        serializer = ContractVoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contracts.void_contract(self.actor, contract, serializer.validated_data["reason"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        description="The sealed PDF once signed; the document as sent while out for "
        "signature; a preview while a draft.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk):
        data, name = contract_pdf_bytes(self.get_object())
        return pdf_response(data, name, inline=False)


ROUTES = [("contracts", ContractViewSet, "contract")]
