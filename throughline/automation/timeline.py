"""Workflow runs and sequence enrolments on a contact's timeline."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from throughline.automation.models import Enrollment, WorkflowRun
from throughline.automation.sequences.services import stop_label
from throughline.crm.models import Contact
from throughline.crm.timeline import TimelineEntry, timeline_source


@timeline_source
def _workflow_runs(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    runs = (
        WorkflowRun.objects.filter(subject_type="crm.contact", subject_id=str(contact.pk))
        .select_related("workflow", "version")
        .order_by("-created_at")[:limit]
    )
    for run in runs:
        yield TimelineEntry(
            at=run.created_at,
            kind="automation",
            title=f"Workflow “{run.workflow}” (v{run.version.number}): {run.get_status_display()}",
            body=run.status_reason,
            actor="automation",
            url=reverse("automation:run_detail", args=[run.pk]),
            extra={"run_id": str(run.pk), "status": run.status},
        )


@timeline_source
def _enrollments(contact: Contact, limit: int) -> Iterable[TimelineEntry]:
    enrollments = (
        Enrollment.objects.filter(contact=contact)
        .select_related("sequence")
        .order_by("-created_at")
    )
    for enrollment in enrollments[:limit]:
        url = reverse("automation:sequence_detail", args=[enrollment.sequence_id])
        yield TimelineEntry(
            at=enrollment.created_at,
            kind="automation",
            title=f"Enrolled in the sequence “{enrollment.sequence}”",
            actor="automation",
            url=url,
        )
        if enrollment.stopped_at:
            yield TimelineEntry(
                at=enrollment.stopped_at,
                kind="automation",
                title=f"Sequence “{enrollment.sequence}” stopped: {stop_label(enrollment.stop_reason)}",
                actor="automation",
                url=url,
            )
