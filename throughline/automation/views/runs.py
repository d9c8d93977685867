"""The run log: runs with their steps (input, output, error, timing), retry and cancel."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.automation import registry
from throughline.automation.models import StepRun, Workflow, WorkflowRun
from throughline.automation.workflows import engine
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm import access as crm_access
from throughline.crm.views.listing import paginate, parse_uuid

PAGE_SIZE = 50
OPEN_STATES = {WorkflowRun.Status.RUNNING, WorkflowRun.Status.WAITING, WorkflowRun.Status.FAILED}


def visible_runs(user) -> QuerySet[WorkflowRun]:
    """Every run, or for sales limited to their own records: runs about those records."""
    runs = WorkflowRun.objects.select_related("workflow", "version")
    if not crm_access.own_records_only(user):
        return runs
    own = Q(pk=None)
    for subject_type, queryset in (
        ("crm.contact", crm_access.contacts_for(user)),
        ("crm.company", crm_access.companies_for(user)),
        ("crm.task", crm_access.tasks_for(user)),
    ):
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        own |= Q(subject_type=subject_type, subject_id__in=ids)
    return runs.filter(own)


def access_run(user, pk) -> WorkflowRun:
    try:
        return visible_runs(user).get(pk=pk)
    except (WorkflowRun.DoesNotExist, ValueError, ValidationError) as exc:
        raise Http404("Not found") from exc


@requires("automation.view")
def run_list(request: HttpRequest) -> HttpResponse:
    runs = visible_runs(request.user).order_by("-created_at")
    workflow = None
    workflow_id = parse_uuid(request.GET.get("workflow"))
    if workflow_id:
        workflow = get_object_or_404(Workflow, pk=workflow_id)
        runs = runs.filter(workflow=workflow)
    status = request.GET.get("status", "")
    if status in WorkflowRun.Status.values:
        runs = runs.filter(status=status)
    dead_steps = (
        StepRun.objects.filter(status=StepRun.Status.DEAD, run__in=visible_runs(request.user))
        .select_related("run__workflow")
        .order_by("-finished_at")[:50]
    )
    context = {
        "page": paginate(request, runs, PAGE_SIZE),
        "workflow": workflow,
        "status": status,
        "statuses": WorkflowRun.Status.choices,
        "dead_steps": dead_steps,
        "can_manage": request.user.can("automation.manage"),
    }
    return render(request, "automation/run_list.html", context)


@requires("automation.view")
def run_detail(request: HttpRequest, pk) -> HttpResponse:
    run = access_run(request.user, pk)
    spec = registry.subject_type(run.subject_type) if run.subject_type else None
    subject = spec.get(run.subject_id) if spec else None
    subject_url = spec.url_of(subject) if (spec and spec.url_of and subject is not None) else ""
    steps = [
        {
            "step": step,
            "input": json.dumps(step.input, indent=2, ensure_ascii=False),
            "output": json.dumps(step.output, indent=2, ensure_ascii=False),
        }
        for step in run.steps.order_by("index")
    ]
    context = {
        "run": run,
        "steps": steps,
        "subject_url": subject_url,
        "can_manage": request.user.can("automation.manage"),
        "can_cancel": run.status in OPEN_STATES,
        "planned": run.version.steps[len(steps) :],
    }
    return render(request, "automation/run_detail.html", context)


@requires("automation.manage")
@require_POST
def step_retry(request: HttpRequest, pk) -> HttpResponse:
    step = get_object_or_404(StepRun.objects.select_related("run"), pk=pk)
    access_run(request.user, step.run_id)
    try:
        engine.retry_step(Actor.from_request(request), step.pk)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Step “{step.step_id}” is queued again.")
    return redirect("automation:run_detail", step.run_id)


@requires("automation.manage")
@require_POST
def run_cancel(request: HttpRequest, pk) -> HttpResponse:
    run = access_run(request.user, pk)
    try:
        engine.cancel_run(Actor.from_request(request), run.pk)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, "Run cancelled; its remaining steps will not run.")
    return redirect("automation:run_detail", run.pk)
