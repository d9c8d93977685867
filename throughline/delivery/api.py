"""REST API v1 of delivery: ``projects`` and ``milestones`` (DESIGN §6: ``/complete``,
``/accept``; also ``/start``, ``/submit-qa``, ``/request-changes``, project ``/kickoff`` and
``/close``). Reads through ``delivery.access``, writes through the services; a state conflict
(accepting twice, delivering before the QA checklist is complete) answers 409."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.errors import PROBLEM_CONTENT_TYPE, Conflict
from throughline.api.schema import ProblemSerializer
from throughline.api.views import ApiViewSet
from throughline.delivery import access
from throughline.delivery.models import Milestone, Project
from throughline.delivery.serializers import (
    AcceptSerializer,
    ChangesSerializer,
    CloseSerializer,
    KickoffSerializer,
    MilestoneSerializer,
    ProjectSerializer,
)
from throughline.delivery.services import closeout, milestones, projects
from throughline.delivery.services.errors import DeliveryStateError

CONFLICT = {(409, PROBLEM_CONTENT_TYPE): ProblemSerializer}
STATUS = OpenApiParameter("status", str, description="onboarding, active, closed.")
CONTACT = OpenApiParameter("contact_id", str, description="Only this client's projects.")
PROJECT = OpenApiParameter("project_id", str, description="Only this project's milestones.")


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except DeliveryStateError as exc:
        raise Conflict(str(exc)) from exc


class ProjectViewSet(ApiViewSet):
    serializer_class = ProjectSerializer
    required_permissions = {
        "list": "delivery.view",
        "retrieve": "delivery.view",
        "kickoff": "delivery.edit",
        "close": "delivery.edit",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        items = access.projects_for(self.request.user).prefetch_related(
            "milestones__qa_items", "checklist"
        )
        params = self.request.query_params
        if params.get("status") in Project.Status.values:
            items = items.filter(status=params["status"])
        if params.get("contact_id"):
            from throughline.crm.views.listing import parse_uuid

            contact_id = parse_uuid(params["contact_id"])
            items = items.filter(contact_id=contact_id) if contact_id else items.none()
        return items.order_by("-created_at")

    def get_object(self):
        return access.access_project(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[STATUS, CONTACT])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProjectSerializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(ProjectSerializer(self.get_object()).data)

    @extend_schema(
        request=KickoffSerializer,
        responses={200: ProjectSerializer},
        description="Refused (400, with what is missing) until scope, timeline and owners are "
        "explicit.",
    )
    @action(detail=True, methods=["post"])
    def kickoff(self, request, pk):
        project = self.get_object()
        serializer = KickoffSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _run(
            projects.set_kickoff_date,
            self.actor,
            project,
            serializer.validated_data["kickoff_date"],
        )
        return Response(ProjectSerializer(self.get_object()).data)

    @extend_schema(request=CloseSerializer, responses={200: ProjectSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def close(self, request, pk):
        project = self.get_object()
        serializer = CloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _run(closeout.close_project, self.actor, project, **serializer.validated_data)
        return Response(ProjectSerializer(self.get_object()).data)


class MilestoneViewSet(ApiViewSet):
    serializer_class = MilestoneSerializer
    required_permissions = {
        "list": "delivery.view",
        "retrieve": "delivery.view",
        "start": "delivery.edit",
        "submit_qa": "delivery.edit",
        "complete": "delivery.edit",
        "accept": "delivery.edit",
        "request_changes": "delivery.edit",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Milestone.objects.none()
        items = access.milestones_for(self.request.user).prefetch_related("qa_items")
        params = self.request.query_params
        if params.get("project_id"):
            from throughline.crm.views.listing import parse_uuid

            project_id = parse_uuid(params["project_id"])
            items = items.filter(project_id=project_id) if project_id else items.none()
        if params.get("status") in Milestone.Status.values:
            items = items.filter(status=params["status"])
        return items.order_by("project", "position")

    def get_object(self):
        return access.access_milestone(self.request.user, self.kwargs["pk"])

    def _out(self, milestone) -> Response:
        return Response(MilestoneSerializer(self.get_object()).data)

    @extend_schema(parameters=[PROJECT])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(MilestoneSerializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(MilestoneSerializer(self.get_object()).data)

    @extend_schema(request=None, responses={200: MilestoneSerializer, **CONFLICT})
    @action(detail=True, methods=["post"])
    def start(self, request, pk):
        return self._out(_run(milestones.start, self.actor, self.get_object()))

    @extend_schema(request=None, responses={200: MilestoneSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="submit-qa")
    def submit_qa(self, request, pk):
        return self._out(_run(milestones.submit_for_qa, self.actor, self.get_object()))

    @extend_schema(
        request=None,
        responses={200: MilestoneSerializer, **CONFLICT},
        description="Deliver the milestone (milestone.completed). 409 unless it is in QA with "
        "its QA checklist complete.",
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk):
        return self._out(_run(milestones.deliver, self.actor, self.get_object()))

    @extend_schema(
        request=AcceptSerializer,
        responses={200: MilestoneSerializer, **CONFLICT},
        description="Record the client's acceptance (milestone.accepted); 409 when not "
        "delivered or accepted already.",
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk):
        serializer = AcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        milestone = _run(
            milestones.accept,
            self.actor,
            self.get_object(),
            by=data.get("accepted_by", ""),
            comment=data.get("comment", ""),
        )
        return self._out(milestone)

    @extend_schema(request=ChangesSerializer, responses={200: MilestoneSerializer, **CONFLICT})
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk):
        serializer = ChangesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        milestone = _run(
            milestones.request_changes,
            self.actor,
            self.get_object(),
            comment=serializer.validated_data["comment"],
        )
        return self._out(milestone)


ROUTES = [
    ("projects", ProjectViewSet, "project"),
    ("milestones", MilestoneViewSet, "milestone"),
]
