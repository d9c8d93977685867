"""REST API v1 of sales: pipelines, deals and proposals (DESIGN §6).

Follows crm/api.py: reads through ``sales.access`` (sales may see only their own deals),
writes through ``sales.services`` with ``self.actor`` inside the request's one transaction.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.errors import Conflict
from throughline.api.views import ApiViewSet
from throughline.sales import access
from throughline.sales.models import (
    Deal,
    Pipeline,
    Proposal,
    ProposalTemplate,
    Stage,
    TemplateVersion,
    stalled_condition,
)
from throughline.sales.serializers import (
    DealSerializer,
    LoseSerializer,
    PipelineSerializer,
    ProposalCreateSerializer,
    ProposalSerializer,
    RequestApprovalSerializer,
    SendSerializer,
)
from throughline.sales.services import approvals
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services
from throughline.sales.services.pdf import pdf_filename, render_pdf

STATUS = OpenApiParameter("status", str, description="`open`, `won` or `lost`.")
PIPELINE = OpenApiParameter("pipeline_id", str, description="Only deals of this pipeline.")
STAGE = OpenApiParameter("stage_id", str, description="Only deals in this stage.")
OWNER = OpenApiParameter("owner", str, description="Owner's e-mail address, or `me`.")
STALLED = OpenApiParameter("stalled", bool, description="Only stalled open deals.")
SEARCH = OpenApiParameter("search", str, description="Text contained in the deal's title.")
PROPOSAL_STATUS = OpenApiParameter(
    "status", str, description="draft, sent, accepted, expired or withdrawn."
)
DEAL = OpenApiParameter("deal_id", str, description="Only proposals of this deal.")


class PipelineViewSet(ApiViewSet):
    serializer_class = PipelineSerializer
    required_permissions = {"list": "sales.view"}

    def get_queryset(self):
        return Pipeline.objects.filter(archived=False).prefetch_related("stages")

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


def _stage(pipeline_id, stage_id) -> Stage:
    stage = Stage.objects.filter(pk=stage_id, pipeline_id=pipeline_id).first()
    if stage is None:
        raise ValidationError({"stage": "No stage with this id in the deal's pipeline."})
    return stage


class DealViewSet(ApiViewSet):
    serializer_class = DealSerializer
    required_permissions = {
        "list": "sales.view",
        "retrieve": "sales.view",
        "create": "sales.edit",
        "partial_update": "sales.edit",
        "lose": "sales.edit",
        "win": "sales.edit",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Deal.objects.none()
        deals = access.deals_for(self.request.user)
        params = self.request.query_params
        if params.get("status") in Deal.Status.values:
            deals = deals.filter(status=params["status"])
        for key, field in (("pipeline_id", "pipeline_id"), ("stage_id", "stage_id")):
            value = params.get(key, "").strip()
            if value:
                try:
                    deals = deals.filter(**{field: value})
                except ValidationError:
                    deals = deals.none()
        owner = params.get("owner", "").strip()
        if owner == "me":
            deals = deals.filter(owner=self.request.user)
        elif owner:
            deals = deals.filter(owner__email__iexact=owner)
        if params.get("stalled", "").lower() in {"true", "1"}:
            deals = deals.filter(stalled_condition(Stage.objects.exclude(stall_after_days=None)))
        term = params.get("search", "").strip()
        if term:
            deals = deals.filter(Q(title__icontains=term) | Q(company__name__icontains=term))
        return deals

    def get_object(self):
        return access.access_deal(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[STATUS, PIPELINE, STAGE, OWNER, STALLED, SEARCH])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        pipeline_id, stage_id = data.pop("pipeline", None), data.pop("stage", None)
        pipeline = stage = None
        if pipeline_id:
            pipeline = Pipeline.objects.filter(pk=pipeline_id, archived=False).first()
            if pipeline is None:
                raise ValidationError({"pipeline": "No pipeline with this id."})
        if stage_id:
            stage = Stage.objects.filter(pk=stage_id).select_related("pipeline").first()
            if stage is None or (pipeline is not None and stage.pipeline_id != pipeline.pk):
                raise ValidationError({"stage": "No stage with this id in the pipeline."})
        deal = pipeline_services.create_deal(self.actor, pipeline=pipeline, stage=stage, **data)
        return Response(self.get_serializer(deal).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk):
        deal = self.get_object()
        serializer = self.get_serializer(deal, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        if "pipeline" in data:
            raise ValidationError({"pipeline": "A deal stays in its pipeline."})
        stage_id = data.pop("stage", None)
        if data:
            deal = pipeline_services.update_deal(self.actor, deal, **data)
        if stage_id:
            deal = pipeline_services.move_deal(self.actor, deal, _stage(deal.pipeline_id, stage_id))
        return Response(self.get_serializer(access.access_deal(request.user, deal.pk)).data)

    @extend_schema(request=LoseSerializer, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def lose(self, request, pk):
        deal = self.get_object()
        serializer = LoseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deal = pipeline_services.lose_deal(
            self.actor,
            deal,
            serializer.validated_data["reason"],
            serializer.validated_data.get("note", ""),
        )
        return Response(self.get_serializer(access.access_deal(request.user, deal.pk)).data)

    @extend_schema(request=None, responses=DealSerializer)
    @action(detail=True, methods=["post"])
    def win(self, request, pk):
        deal = pipeline_services.win_deal(self.actor, self.get_object())
        return Response(self.get_serializer(access.access_deal(request.user, deal.pk)).data)


class ProposalViewSet(ApiViewSet):
    serializer_class = ProposalSerializer
    required_permissions = {
        "list": "sales.view",
        "retrieve": "sales.view",
        "create": "sales.edit",
        "send": "sales.edit",
        "request_approval": "sales.edit",
        "pdf": "sales.view",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Proposal.objects.none()
        proposals = access.proposals_for(self.request.user)
        params = self.request.query_params
        if params.get("status") in Proposal.Status.values:
            proposals = proposals.filter(status=params["status"])
        deal_id = params.get("deal_id", "").strip()
        if deal_id:
            try:
                proposals = proposals.filter(deal_id=deal_id)
            except ValidationError:
                proposals = proposals.none()
        return proposals

    def get_object(self):
        return access.access_proposal(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[PROPOSAL_STATUS, DEAL])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=ProposalCreateSerializer, responses={201: ProposalSerializer})
    def create(self, request):
        serializer = ProposalCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data.get("template_version_id"):
            template = TemplateVersion.objects.filter(pk=data["template_version_id"]).first()
            if template is None:
                raise ValidationError({"template_version_id": "No template version with this id."})
        else:
            template = ProposalTemplate.objects.filter(pk=data["template_id"]).first()
            if template is None:
                raise ValidationError({"template_id": "No template with this id."})
        try:
            proposal = proposal_services.create_proposal(
                self.actor, data["deal_id"], template, title=data.get("title", "")
            )
        except ValidationError as exc:
            # The service speaks of "template"; the API's field is template_id.
            if hasattr(exc, "error_dict") and "template" in exc.error_dict:
                key = "template_version_id" if data.get("template_version_id") else "template_id"
                raise ValidationError({key: exc.message_dict["template"]}) from exc
            raise
        return Response(self.get_serializer(proposal).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=SendSerializer,
        responses=ProposalSerializer,
        description="E-mails the client a link to the newest version. 409 while an approval "
        "rule is unmet (`errors.approval` says why) — ask with `request-approval`.",
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk):
        proposal = self.get_object()
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            proposal_services.send_proposal(
                self.actor, proposal, message=serializer.validated_data.get("message", "")
            )
        except approvals.ApprovalRequired as exc:
            raise Conflict({"approval": exc.message_dict["approval"]}) from exc
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=RequestApprovalSerializer, responses=ProposalSerializer)
    @action(detail=True, methods=["post"], url_path="request-approval")
    def request_approval(self, request, pk):
        proposal = self.get_object()
        serializer = RequestApprovalSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        working = proposal_services.working_version(proposal)
        if working is None:
            raise ValidationError({"__all__": "Nothing to approve: revise the proposal first."})
        approvals.request_approval(self.actor, working, serializer.validated_data.get("note", ""))
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "version",
                int,
                description="Version number (default: the one the client sees, else the newest).",
            )
        ],
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
    )
    @action(detail=True, methods=["get"])
    def pdf(self, request, pk):
        proposal = self.get_object()
        number = request.query_params.get("version", "")
        if number.isdigit():
            version = proposal.versions.filter(number=int(number)).first()
        else:
            version = proposal.client_version() or proposal.latest_version()
        if version is None:
            raise ValidationError({"version": "No such version."})
        acceptance = getattr(proposal, "acceptance", None) if proposal.accepted_at else None
        selection = (
            acceptance.selected_options
            if acceptance is not None and acceptance.version_id == version.pk
            else None
        )
        response = HttpResponse(
            render_pdf(version, selection, acceptance=acceptance), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="{pdf_filename(version)}"'
        return response


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [
    ("pipelines", PipelineViewSet, "pipeline"),
    ("deals", DealViewSet, "deal"),
    ("proposals", ProposalViewSet, "proposal"),
]
