"""Staff pages of project templates: list, create, edit (JSON body; each save a new version)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.delivery import access
from throughline.delivery.models import DeliverySettings, ProjectTemplate
from throughline.delivery.services import templates
from throughline.delivery.template_content import empty_template_content
from throughline.sales.models import ProposalTemplate


@requires("delivery.manage")
@require_safe
def template_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "delivery/template_list.html",
        {
            "templates": ProjectTemplate.objects.prefetch_related("versions", "proposal_templates"),
            "settings": DeliverySettings.current(),
        },
    )


def _parse(text: str):
    try:
        return json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValidationError(
            {"content": f"Not valid JSON: {exc.msg} (line {exc.lineno})."}
        ) from exc


@requires("delivery.manage")
@require_http_methods(["GET", "HEAD", "POST"])
def template_edit(request: HttpRequest, pk=None) -> HttpResponse:
    template = access.access_template(request.user, pk) if pk else None
    version = template.current_version() if template else None
    content_text = json.dumps(version.content if version else empty_template_content(), indent=2)
    errors: list[str] = []
    if request.method == "POST":
        actor = Actor.from_request(request)
        content_text = request.POST.get("content", "")
        chosen = list(
            ProposalTemplate.objects.filter(pk__in=request.POST.getlist("proposal_templates"))
        )
        try:
            content = _parse(content_text)
            if template is None:
                template = templates.create_template(
                    actor,
                    name=request.POST.get("name", ""),
                    description=request.POST.get("description", ""),
                    content=content,
                )
            else:
                templates.save_version(
                    actor, template, content, request.POST.get("change_note", "")
                )
            templates.update_template(
                actor,
                template,
                description=request.POST.get("description", ""),
                archived=bool(request.POST.get("archived")),
                proposal_templates=chosen,
            )
            if request.POST.get("default"):
                templates.set_default_template(actor, template)
            messages.success(request, "Template saved.")
            return redirect("delivery:template_edit", pk=template.pk)
        except ValidationError as exc:
            errors = (
                [f"{k}: {', '.join(v)}" for k, v in exc.message_dict.items()]
                if hasattr(exc, "error_dict")
                else exc.messages
            )
    return render(
        request,
        "delivery/template_form.html",
        {
            "template": template,
            "version": version,
            "content_text": content_text,
            "errors": errors,
            "proposal_templates": ProposalTemplate.objects.filter(archived=False),
            "is_default": template is not None
            and DeliverySettings.current().default_template_id == template.pk,
        },
        status=400 if errors else 200,
    )


@requires("delivery.manage")
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    try:
        templates.update_settings(
            Actor.from_request(request),
            expansion_followup_days=request.POST.get("expansion_followup_days", ""),
        )
        messages.success(request, "Settings saved.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("delivery:template_list")
