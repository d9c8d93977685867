"""Contract templates in the staff UI: list, create, edit the draft's clauses, submit, approve."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.sales.merge import MERGE_FIELDS
from throughline.sales.views.common import flash_errors
from throughline.signing import access
from throughline.signing.forms import DecisionForm, TemplateCreateForm
from throughline.signing.models import ContractTemplate, ContractTemplateVersion
from throughline.signing.services import templates


@requires("signing.view")
def template_list(request: HttpRequest) -> HttpResponse:
    items = ContractTemplate.objects.prefetch_related("versions").order_by("archived", "name")
    return render(
        request,
        "signing/templates/list.html",
        {"templates": items, "form": TemplateCreateForm()},
    )


@requires("signing.manage")
@require_POST
def template_new(request: HttpRequest) -> HttpResponse:
    form = TemplateCreateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the template a name.")
        return redirect("signing:template_list")
    try:
        template = templates.create_template(Actor.from_request(request), **form.cleaned_data)
    except ValidationError as exc:
        flash_errors(request, exc)
        return redirect("signing:template_list")
    return redirect("signing:template_detail", template.pk)


def _clauses_from(request: HttpRequest) -> list[dict[str, str]]:
    titles = request.POST.getlist("clause_title")
    bodies = request.POST.getlist("clause_body")
    return [{"title": t, "body": b} for t, b in zip(titles, bodies, strict=False)]


@requires("signing.view")
def template_detail(request: HttpRequest, pk) -> HttpResponse:
    template = access.access_template(request.user, pk)
    working = template.working_version()
    if request.method == "POST":
        if not request.user.can("signing.manage"):
            raise PermissionDenied("Only an owner or admin edits contract templates.")
        try:
            templates.edit_template(
                Actor.from_request(request),
                template,
                clauses=_clauses_from(request),
                change_note=request.POST.get("change_note", ""),
                name=request.POST.get("name", template.name),
                description=request.POST.get("description", template.description),
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, "Draft saved.")
        return redirect("signing:template_detail", template.pk)
    shown = working or template.versions.order_by("-number").first()
    return render(
        request,
        "signing/templates/detail.html",
        {
            "template": template,
            "working": working,
            "shown": shown,
            "clauses": [*(shown.clauses if shown else []), {"title": "", "body": ""}],
            "versions": template.versions.order_by("-number"),
            "merge_fields": MERGE_FIELDS,
            "decision_form": DecisionForm(),
        },
    )


@requires("signing.manage")
@require_POST
def template_submit(request: HttpRequest, pk) -> HttpResponse:
    template = access.access_template(request.user, pk)
    working = template.working_version()
    try:
        if working is None:
            raise ValidationError("Nothing to submit: edit the template first.")
        templates.submit_version(Actor.from_request(request), working)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "Submitted for approval.")
    return redirect("signing:template_detail", template.pk)


@requires("signing.manage")
@require_POST
def version_decide(request: HttpRequest, pk, decision: str) -> HttpResponse:
    version = ContractTemplateVersion.objects.filter(pk=pk).select_related("template").first()
    if version is None or decision not in {"approve", "reject"}:
        from django.http import Http404

        raise Http404("No such version")
    form = DecisionForm(request.POST)
    comment = form.data.get("comment", "")
    try:
        if decision == "approve":
            templates.approve_version(Actor.from_request(request), version, comment)
        else:
            templates.reject_version(Actor.from_request(request), version, comment)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Version {version.number} {decision}d.")
    return redirect("signing:template_detail", version.template_id)
