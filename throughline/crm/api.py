"""REST API v1 of the CRM: contacts, companies, tasks (DESIGN §6).

The pattern every app's ``api.py`` follows:
* one ``ApiViewSet`` per resource, with ``required_permissions`` for each action;
* reads through ``crm.access`` (so "sales see only their own records" holds), writes through
  ``crm.services`` with ``self.actor`` — never ``.save()`` here;
* ``ROUTES`` at the bottom, which ``throughline/api/urls.py`` registers.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from throughline.api.views import ApiViewSet
from throughline.crm import access, services
from throughline.crm.models import Company, Contact, Task
from throughline.crm.serializers import CompanySerializer, ContactSerializer, TaskSerializer

SEARCH = OpenApiParameter("search", str, description="Text contained in the record's names.")
OWNER = OpenApiParameter("owner", str, description="Owner's e-mail address, or `me`.")
TAG = OpenApiParameter("tag", str, description="Only records with this tag (exact name).")
DONE = OpenApiParameter("done", bool, description="Only done (`true`) or open (`false`) tasks.")


def filter_records(
    queryset: QuerySet, request, *, search: tuple[str, ...], tags: bool = True
) -> QuerySet:
    """The list filters shared by CRM resources: ``?search=``, ``?owner=``, ``?tag=``."""
    params = request.query_params
    term = params.get("search", "").strip()
    if term:
        matches = Q()
        for field in search:
            matches |= Q(**{f"{field}__icontains": term})
        queryset = queryset.filter(matches)
    owner = params.get("owner", "").strip()
    if owner == "me":
        queryset = queryset.filter(owner=request.user)
    elif owner:
        queryset = queryset.filter(owner__email__iexact=owner)
    tag = params.get("tag", "").strip()
    if tags and tag:
        queryset = queryset.filter(tags__name=tag)
    return queryset


class ContactViewSet(ApiViewSet):
    serializer_class = ContactSerializer
    required_permissions = {
        "list": "crm.view",
        "retrieve": "crm.view",
        "create": "crm.edit",
        "partial_update": "crm.edit",
        "destroy": "crm.delete",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Contact.objects.none()
        queryset = access.contacts_for(self.request.user).prefetch_related("tags")
        search = ("first_name", "last_name", "email", "phone", "company__name")
        return filter_records(queryset, self.request, search=search)

    def get_object(self):
        return access.access_contact(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[SEARCH, OWNER, TAG])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.create_contact(self.actor, **serializer.service_kwargs())
        return Response(self.get_serializer(contact).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        contact = services.update_contact(
            self.actor, serializer.instance, **serializer.service_kwargs()
        )
        return Response(self.get_serializer(contact).data)

    def destroy(self, request, pk):
        services.delete_contact(self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class CompanyViewSet(ApiViewSet):
    serializer_class = CompanySerializer
    required_permissions = {
        "list": "crm.view",
        "retrieve": "crm.view",
        "create": "crm.edit",
        "partial_update": "crm.edit",
        "destroy": "crm.delete",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Company.objects.none()
        queryset = access.companies_for(self.request.user).prefetch_related("tags")
        return filter_records(queryset, self.request, search=("name", "domain"))

    def get_object(self):
        return access.access_company(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[SEARCH, OWNER, TAG])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        company = services.create_company(self.actor, **serializer.service_kwargs())
        return Response(self.get_serializer(company).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        company = services.update_company(
            self.actor, serializer.instance, **serializer.service_kwargs()
        )
        return Response(self.get_serializer(company).data)

    def destroy(self, request, pk):
        services.delete_company(self.actor, self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class TaskViewSet(ApiViewSet):
    serializer_class = TaskSerializer
    required_permissions = {
        "list": "crm.view",
        "retrieve": "crm.view",
        "create": "crm.edit",
        "partial_update": "crm.edit",
        "complete": "crm.edit",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Task.objects.none()
        queryset = filter_records(
            access.tasks_for(self.request.user), self.request, search=("title",), tags=False
        )
        done = self.request.query_params.get("done", "").strip().lower()
        if done in {"true", "1"}:
            queryset = queryset.filter(done_at__isnull=False)
        elif done in {"false", "0"}:
            queryset = queryset.filter(done_at__isnull=True)
        return queryset

    def get_object(self):
        return access.access_task(self.request.user, self.kwargs["pk"])

    @extend_schema(parameters=[SEARCH, OWNER, DONE])
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk):
        return Response(self.get_serializer(self.get_object()).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        done = data.pop("done", False)
        task = services.create_task(self.actor, **data)
        if done:  # same transaction (ApiViewMixin): created done, or not at all
            task = services.complete_task(self.actor, task)
        return Response(self.get_serializer(task).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.service_kwargs()
        done = data.pop("done", None)
        task = services.update_task(self.actor, serializer.instance, **data)
        if done is not None:
            task = services.complete_task(self.actor, task, done=done)
        return Response(self.get_serializer(task).data)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk):
        task = services.complete_task(self.actor, self.get_object())
        return Response(self.get_serializer(task).data)


# (url prefix, viewset, basename) — registered by throughline/api/urls.py.
ROUTES = [
    ("contacts", ContactViewSet, "contact"),
    ("companies", CompanyViewSet, "company"),
    ("tasks", TaskViewSet, "task"),
]
