"""Fetch-and-check for delivery's staff views and API (every role with delivery.view sees all)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from throughline.delivery.models import Milestone, Project, ProjectTemplate


def projects_for(user) -> QuerySet[Project]:
    return Project.objects.select_related("contact", "company", "owner", "deal")


def milestones_for(user) -> QuerySet[Milestone]:
    return Milestone.objects.select_related("project", "project__contact")


def _get(queryset: QuerySet, pk):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("Not found") from exc


def access_project(user, pk) -> Project:
    return _get(projects_for(user), pk)


def access_milestone(user, pk) -> Milestone:
    return _get(milestones_for(user), pk)


def access_template(user, pk) -> ProjectTemplate:
    return _get(ProjectTemplate.objects.all(), pk)
