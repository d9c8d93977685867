"""Sales settings (owners and admins): pipeline stages, lost reasons, approval rules."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.sales.forms import LostReasonForm, PolicyForm, StageForm
from throughline.sales.models import ApprovalPolicy, LostReason, Pipeline, Stage
from throughline.sales.services import approvals
from throughline.sales.services import pipeline as services
from throughline.sales.views.common import flash_errors


def _policy_form(policy: ApprovalPolicy, data=None) -> PolicyForm:
    return PolicyForm(
        data,
        initial={
            "max_discount_percent": policy.max_discount_percent,
            "total_threshold": policy.total_threshold,
            "threshold_currency": policy.threshold_currency,
            "nonstandard_terms_need_approval": policy.nonstandard_terms_need_approval,
        },
    )


@requires("settings.manage")
def sales_settings(request: HttpRequest) -> HttpResponse:
    pipelines = []
    for pipeline in Pipeline.objects.filter(archived=False).prefetch_related("stages"):
        stages = sorted(pipeline.stages.all(), key=lambda s: (s.position, s.name))
        pipelines.append(
            {
                "pipeline": pipeline,
                "stages": [
                    {
                        "stage": stage,
                        "form": StageForm(
                            prefix=f"stage-{stage.pk}",
                            initial={
                                "name": stage.name,
                                "probability": stage.probability,
                                "stall_after_days": stage.stall_after_days,
                            },
                        ),
                    }
                    for stage in stages
                ],
                "new_stage_form": StageForm(
                    prefix=f"new-{pipeline.pk}", initial={"probability": 50}
                ),
            }
        )
    return render(
        request,
        "sales/settings.html",
        {
            "pipelines": pipelines,
            "reasons": LostReason.objects.all(),
            "reason_form": LostReasonForm(),
            "policy_form": _policy_form(ApprovalPolicy.current()),
        },
    )


def _stage(pk) -> Stage:
    stage = Stage.objects.filter(pk=pk).select_related("pipeline").first()
    if stage is None:
        raise Http404("No such stage")
    return stage


@requires("settings.manage")
@require_POST
def stage_create(request: HttpRequest, pk) -> HttpResponse:
    pipeline = Pipeline.objects.filter(pk=pk).first()
    if pipeline is None:
        raise Http404("No such pipeline")
    form = StageForm(request.POST, prefix=f"new-{pipeline.pk}")
    if form.is_valid():
        try:
            services.add_stage(Actor.from_request(request), pipeline, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Stage “{form.cleaned_data['name']}” added.")
    else:
        messages.error(request, "Give the stage a name and a probability from 0 to 100.")
    return redirect("sales:settings")


@requires("settings.manage")
@require_POST
def stage_edit(request: HttpRequest, pk) -> HttpResponse:
    stage = _stage(pk)
    form = StageForm(request.POST, prefix=f"stage-{stage.pk}")
    if form.is_valid():
        try:
            services.update_stage(Actor.from_request(request), stage, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, f"Stage “{form.cleaned_data['name']}” saved.")
    else:
        messages.error(request, "Check the stage's name, probability and days.")
    return redirect("sales:settings")


@requires("settings.manage")
@require_POST
def stage_move(request: HttpRequest, pk) -> HttpResponse:
    stage = _stage(pk)
    services.move_stage(
        Actor.from_request(request), stage, -1 if request.POST.get("direction") == "up" else 1
    )
    return redirect("sales:settings")


@requires("settings.manage")
@require_POST
def stage_delete(request: HttpRequest, pk) -> HttpResponse:
    stage = _stage(pk)
    try:
        services.delete_stage(Actor.from_request(request), stage)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Stage “{stage.name}” deleted.")
    return redirect("sales:settings")


@requires("settings.manage")
@require_POST
def lost_reason_save(request: HttpRequest, pk=None) -> HttpResponse:
    reason = LostReason.objects.filter(pk=pk).first() if pk else None
    if pk and reason is None:
        raise Http404("No such reason")
    form = LostReasonForm(request.POST)
    if form.is_valid():
        try:
            services.save_lost_reason(Actor.from_request(request), reason, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, "Lost reasons saved.")
    else:
        messages.error(request, "Give the reason a name.")
    return redirect("sales:settings")


@requires("settings.manage")
@require_POST
def policy_save(request: HttpRequest) -> HttpResponse:
    form = _policy_form(ApprovalPolicy.current(), request.POST)
    if form.is_valid():
        try:
            approvals.update_policy(Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, "Approval rules saved.")
    else:
        messages.error(request, "Check the approval rules.")
    return redirect("sales:settings")
