"""Workflow pages: list, editor (no code), versions, dry run, import and export."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from throughline.automation import registry
from throughline.automation.models import Workflow, WorkflowVersion
from throughline.automation.views.forms import (
    ConditionFormSet,
    ParamsForm,
    StepFormSet,
    WorkflowHeaderForm,
    conditions_from_rows,
    field_choices,
    header_initial,
    pretty,
    rows_from_conditions,
)
from throughline.automation.workflows import services
from throughline.automation.workflows.definition import DefinitionError
from throughline.automation.workflows.dry_run import dry_run
from throughline.core.access import requires
from throughline.core.actor import Actor

EMPTY_DEFINITION = {
    "trigger": {"type": "event", "event": ""},
    "subject": "crm.contact",
    "steps": [],
}


def _workflow(pk) -> Workflow:
    return get_object_or_404(Workflow.objects.select_related("current_version"), pk=pk)


@requires("automation.view")
def workflow_list(request: HttpRequest) -> HttpResponse:
    workflows = Workflow.objects.select_related("current_version").order_by("name")
    return render(
        request,
        "automation/workflow_list.html",
        {"workflows": workflows, "can_manage": request.user.can("automation.manage")},
    )


@requires("automation.view")
def workflow_detail(request: HttpRequest, pk) -> HttpResponse:
    workflow = _workflow(pk)
    version = workflow.current_version
    runs = workflow.runs.select_related("version").order_by("-created_at")[:50]
    context = {
        "workflow": workflow,
        "version": version,
        "definition_json": pretty(version.definition) if version else "",
        "steps": _describe_steps(version.definition if version else {}),
        "runs": runs,
        "can_manage": request.user.can("automation.manage"),
    }
    return render(request, "automation/workflow_detail.html", context)


def _describe_steps(definition: dict) -> list[dict]:
    out = []
    for step in definition.get("steps", []):
        action = registry.action(step["action"])
        text = action.describe(step["params"]) if action and action.describe else step["action"]
        out.append(
            {"id": step["id"], "action": step["action"], "text": text, "params": step["params"]}
        )
    return out


@requires("automation.view")
def workflow_versions(request: HttpRequest, pk) -> HttpResponse:
    workflow = _workflow(pk)
    versions = workflow.versions.select_related("created_by").order_by("-number")
    rows = [{"version": v, "json": pretty(v.definition), "runs": v.runs.count()} for v in versions]
    return render(
        request, "automation/workflow_versions.html", {"workflow": workflow, "rows": rows}
    )


# --- the editor -----------------------------------------------------------------------------


def _build_editor(request: HttpRequest, workflow: Workflow | None, definition: dict):
    """Bind (POST) or fill (GET) the three parts of the editor."""
    posted = request.method == "POST"
    subject = (request.POST.get("subject") if posted else definition.get("subject")) or ""
    choices = field_choices(subject)
    if posted:
        # A disabled field takes its initial value, whatever was posted.
        initial = {"key": workflow.key} if workflow is not None else None
        header = WorkflowHeaderForm(request.POST, initial=initial, editing=workflow is not None)
        conditions = ConditionFormSet(
            request.POST, prefix="cond", form_kwargs={"field_choices": choices}
        )
        steps = StepFormSet(request.POST, prefix="steps")
    else:
        header = WorkflowHeaderForm(
            initial=header_initial(workflow, definition), editing=workflow is not None
        )
        rows, fits = rows_from_conditions(definition.get("conditions"))
        if not fits:
            messages.warning(
                request,
                "These conditions are nested deeper than the editor shows; saving here "
                "replaces them. Use export and import to keep them.",
            )
        conditions = ConditionFormSet(
            initial=rows, prefix="cond", form_kwargs={"field_choices": choices}
        )
        steps = StepFormSet(
            initial=[
                {"action": s["action"], "step_id": s["id"]} for s in definition.get("steps", [])
            ],
            prefix="steps",
        )
    params_forms = []
    for index, form in enumerate(steps.forms):
        name = form["action"].value() or ""
        action = registry.action(name)
        if action is None:
            params_forms.append(None)
            continue
        prefix = f"steps-{index}-param"
        if posted:
            params_forms.append(ParamsForm(action, subject, request.POST, prefix=prefix))
        else:
            existing = definition.get("steps", [])
            initial = existing[index]["params"] if index < len(existing) else {}
            params_forms.append(ParamsForm(action, subject, initial=initial, prefix=prefix))
    return header, conditions, steps, params_forms


def _definition_from_editor(header, conditions, steps, params_forms) -> dict | None:
    valid = header.is_valid() & conditions.is_valid() & steps.is_valid()
    valid &= all(p.is_valid() for p in params_forms if p is not None)
    if not valid:
        return None
    leaves = []
    for form in conditions.forms:
        if form.cleaned_data.get("DELETE"):
            continue
        leaf = form.leaf()
        if leaf is not None:
            leaves.append((form.cleaned_data.get("group") or 1, leaf))
    step_list = []
    for form, params in zip(steps.forms, params_forms, strict=True):
        data = form.cleaned_data
        if data.get("DELETE") or not data.get("action"):
            continue
        step = {"action": data["action"], "params": params.params() if params else {}}
        if data.get("step_id"):
            step["id"] = data["step_id"]
        step_list.append(step)
    return {
        "trigger": header.trigger(),
        "subject": header.cleaned_data.get("subject") or "",
        "conditions": conditions_from_rows(leaves),
        "steps": step_list,
    }


def _editor(request: HttpRequest, workflow: Workflow | None) -> HttpResponse:
    current = (
        workflow.current_version.definition
        if workflow and workflow.current_version
        else EMPTY_DEFINITION
    )
    header, conditions, steps, params_forms = _build_editor(request, workflow, current)
    problems: list[str] = []
    if request.method == "POST" and "_refresh" not in request.POST:
        definition = _definition_from_editor(header, conditions, steps, params_forms)
        if definition is not None:
            actor = Actor.from_request(request)
            try:
                if workflow is None:
                    workflow = services.create_workflow(
                        actor,
                        key=header.cleaned_data["key"],
                        name=header.cleaned_data["name"],
                        description=header.cleaned_data["description"],
                        definition=definition,
                        note=header.cleaned_data["note"],
                    )
                    messages.success(request, f"Workflow “{workflow}” created.")
                else:
                    version = services.save_version(
                        actor,
                        workflow,
                        definition,
                        name=header.cleaned_data["name"],
                        description=header.cleaned_data["description"],
                        note=header.cleaned_data["note"],
                    )
                    messages.success(request, f"Saved as version {version.number}.")
            except ValidationError as exc:
                problems = exc.messages
            else:
                return redirect("automation:workflow_detail", workflow.pk)
    context = {
        "workflow": workflow,
        "header": header,
        "conditions": conditions,
        "steps": steps,
        "step_rows": list(zip(steps.forms, params_forms, strict=True)),
        "problems": problems,
    }
    return render(request, "automation/workflow_form.html", context)


@requires("automation.manage")
def workflow_create(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@requires("automation.manage")
def workflow_edit(request: HttpRequest, pk) -> HttpResponse:
    return _editor(request, _workflow(pk))


@requires("automation.manage")
@require_GET
def step_params(request: HttpRequest) -> HttpResponse:
    """htmx: the parameter fields of the action chosen in a step row."""
    index = request.GET.get("index", "0")
    if not index.isdigit():
        raise Http404
    prefix = f"steps-{index}"
    action = registry.action(request.GET.get(f"{prefix}-action", ""))
    subject = request.GET.get("subject", "")
    form = ParamsForm(action, subject, prefix=f"{prefix}-param") if action else None
    return render(request, "automation/_step_params.html", {"params": form, "index": index})


@requires("automation.manage")
@require_POST
def workflow_toggle(request: HttpRequest, pk) -> HttpResponse:
    workflow = _workflow(pk)
    active = request.POST.get("active") == "1"
    try:
        services.set_active(Actor.from_request(request), workflow, active)
    except ValidationError as exc:
        messages.error(request, "Cannot switch it on: " + "; ".join(exc.messages))
    else:
        messages.success(request, f"“{workflow}” is {'on' if active else 'off'}.")
    return redirect("automation:workflow_detail", workflow.pk)


# --- dry run --------------------------------------------------------------------------------


@requires("automation.view")
def workflow_dry_run(request: HttpRequest, pk) -> HttpResponse:
    workflow = _workflow(pk)
    version = workflow.current_version
    if request.GET.get("version"):
        version = get_object_or_404(
            WorkflowVersion, workflow=workflow, number=request.GET["version"]
        )
    subject_type = version.subject_type if version else ""
    spec = registry.subject_type(subject_type) if subject_type else None
    record_id = request.GET.get("record", "").strip()
    report, record, error = None, None, ""
    if record_id and spec is not None:
        record = spec.get(record_id)
        if record is None:
            error = f"No {spec.label.lower()} with id {record_id!r}."
    if version is not None and (record is not None or not subject_type):
        report = dry_run(version.definition, record)
    recent = list(spec.all().order_by("-created_at")[:20]) if spec is not None else []
    context = {
        "workflow": workflow,
        "version": version,
        "subject_label": spec.label if spec else "",
        "record_id": record_id,
        "recent": recent,
        "report": report,
        "error": error,
    }
    return render(request, "automation/workflow_dry_run.html", context)


# --- import / export ------------------------------------------------------------------------


@requires("automation.view")
def workflow_export(request: HttpRequest, pk) -> HttpResponse:
    workflow = _workflow(pk)
    version = workflow.current_version
    if request.GET.get("version"):
        version = get_object_or_404(
            WorkflowVersion, workflow=workflow, number=request.GET["version"]
        )
    body = json.dumps(services.export_workflow(workflow, version), indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="workflow-{workflow.key}.json"'
    return response


@requires("automation.view")
def workflow_export_all(request: HttpRequest) -> HttpResponse:
    body = services.export_json(list(Workflow.objects.select_related("current_version")))
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="workflows.json"'
    return response


@requires("automation.manage")
def workflow_import(request: HttpRequest) -> HttpResponse:
    problems: list[str] = []
    text = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        raw = upload.read(services.MAX_IMPORT_BYTES + 1) if upload else request.POST.get("json", "")
        text = request.POST.get("json", "")
        if not raw:
            problems = ["Choose a file or paste the JSON of an export."]
        else:
            try:
                results = services.import_workflows(Actor.from_request(request), raw)
            except DefinitionError as exc:
                problems = exc.problems
            else:
                for workflow, outcome in results:
                    messages.success(request, f"Imported “{workflow}” ({outcome}).")
                return redirect("automation:workflow_list")
    return render(request, "automation/workflow_import.html", {"problems": problems, "text": text})
