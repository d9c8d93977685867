"""Projects and milestones on the contact's timeline (crm.timeline's extension point)."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source
from throughline.delivery.models import Milestone, Project


@timeline_source
def _delivery(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    for project in Project.objects.filter(contact=contact).order_by("-created_at")[:limit]:
        url = reverse("delivery:project_detail", args=[project.pk])
        yield TimelineEntry(
            at=project.created_at, kind="project", title=f"Project {project.name} started", url=url
        )
        if project.closed_at:
            yield TimelineEntry(
                at=project.closed_at,
                kind="project",
                title=f"Project {project.name} closed",
                url=url,
            )
    milestones = (
        Milestone.objects.filter(project__contact=contact)
        .select_related("project")
        .order_by("-updated_at")[:limit]
    )
    for milestone in milestones:
        url = reverse("delivery:project_detail", args=[milestone.project_id])
        for what, at in (
            ("delivered", milestone.delivered_at),
            ("accepted", milestone.accepted_at),
        ):
            if at is not None:
                yield TimelineEntry(
                    at=at, kind="milestone", title=f"Milestone {milestone.title} {what}", url=url
                )
