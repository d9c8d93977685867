"""Proposal templates: list, create, edit (always a draft version), submit, approve/reject."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.sales import access
from throughline.sales.forms import (
    ContentEditor,
    DecisionForm,
    TemplateLineFormSet,
    TemplateMetaForm,
    TemplateSettingsForm,
)
from throughline.sales.merge import MERGE_FIELDS, merge_context, render_html
from throughline.sales.models import CatalogueItem, ProposalTemplate, TemplateVersion
from throughline.sales.services import pricing
from throughline.sales.services import templates as services
from throughline.sales.views.common import add_service_errors, flash_errors

SAMPLE_PARTIES = {
    "contact": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "title": "Director",
    },
    "company": {"name": "Analytical Engines Ltd", "address": "12 Example Street, London"},
    "deal": {"title": "Website relaunch", "value": "£12,000.00", "currency": "GBP"},
    "owner": {"name": "Sam Seller", "email": "sam@example.com"},
}


@requires("sales.view")
def template_list(request: HttpRequest) -> HttpResponse:
    rows = []
    for template in ProposalTemplate.objects.prefetch_related("versions"):
        versions = sorted(template.versions.all(), key=lambda v: -v.number)
        approved = next((v for v in versions if v.status == TemplateVersion.Status.APPROVED), None)
        working = next((v for v in versions if v.status in TemplateVersion.OPEN_STATUSES), None)
        rows.append({"template": template, "approved": approved, "working": working})
    return render(
        request,
        "sales/templates/list.html",
        {"rows": rows, "can_manage": request.user.can("templates.manage")},
    )


@requires("templates.manage")
def template_create(request: HttpRequest) -> HttpResponse:
    meta = TemplateMetaForm(request.POST or None, prefix="meta")
    settings_form = TemplateSettingsForm(
        request.POST or None,
        prefix="settings",
        initial={"currency": Organization.current().base_currency, "valid_days": 30},
    )
    if request.method == "POST" and meta.is_valid() and settings_form.is_valid():
        try:
            template = services.create_template(
                Actor.from_request(request),
                name=meta.cleaned_data["name"],
                description=meta.cleaned_data["description"],
                currency=settings_form.cleaned_data["currency"],
                valid_days=settings_form.cleaned_data["valid_days"],
            )
        except ValidationError as exc:
            add_service_errors(meta, exc)
        else:
            messages.success(request, f"Template “{template}” created as a draft.")
            return redirect("sales:template_edit", pk=template.pk)
    return render(
        request, "sales/templates/create.html", {"meta": meta, "settings_form": settings_form}
    )


def _version_preview(version: TemplateVersion) -> dict:
    context = merge_context(
        SAMPLE_PARTIES, {"number": "P-0000-0001", "title": "Sample proposal", "version": "1"}
    )
    lines = version.content.get("lines", [])
    options = version.content.get("options", [])
    return {
        "sections": [
            {"title": s["title"], "html": render_html(s["body"], context)}
            for s in version.content.get("sections", [])
        ],
        "terms_html": render_html(version.content.get("terms", ""), context),
        "lines": [{**line, "net": pricing.line_net(line, version.currency)} for line in lines],
        "totals": pricing.default_totals(lines, options, version.currency, 0),
    }


@requires("sales.view")
def template_detail(request: HttpRequest, pk) -> HttpResponse:
    template = access.access_template(request.user, pk)
    versions = list(template.versions.select_related("created_by", "decided_by"))
    number = request.GET.get("version")
    shown = next((v for v in versions if str(v.number) == number), None) or (
        template.working_version()
        or template.approved_version()
        or (versions[0] if versions else None)
    )
    return render(
        request,
        "sales/templates/detail.html",
        {
            "template": template,
            "versions": versions,
            "shown": shown,
            "preview": _version_preview(shown) if shown else None,
            "approved": template.approved_version(),
            "working": template.working_version(),
            "can_manage": request.user.can("templates.manage"),
            "can_approve": request.user.can("templates.approve"),
            "decision_form": DecisionForm(),
        },
    )


def _line_initial(version: TemplateVersion | None) -> list[dict]:
    if version is None:
        return []
    return [
        {
            "item": line.get("item"),
            "description": line.get("description", ""),
            "quantity": line.get("quantity"),
            "discount_percent": line.get("discount_percent"),
            "option": line.get("option", ""),
        }
        for line in version.content.get("lines", [])
    ]


def _lines_from(formset, currency: str) -> list[dict]:
    lines = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None) or {}
        if not data or data.get("DELETE") or not data.get("item"):
            continue
        item: CatalogueItem = data["item"]
        line = services.line_from_item(
            item,
            quantity=data.get("quantity") or 1,
            discount_percent=data.get("discount_percent") or 0,
            option=data.get("option") or "",
        )
        if data.get("description"):
            line["description"] = data["description"]
        if item.currency != currency:
            raise ValidationError(
                {"lines": f"“{item}” is priced in {item.currency}; the template is in {currency}."}
            )
        lines.append(line)
    return lines


@requires("templates.manage")
def template_edit(request: HttpRequest, pk) -> HttpResponse:
    template = access.access_template(request.user, pk)
    base = template.working_version() or template.versions.order_by("-number").first()
    problems: list[str] = []
    if request.method == "POST":
        meta = TemplateMetaForm(request.POST, prefix="meta")
        settings_form = TemplateSettingsForm(request.POST, prefix="settings")
        editor = ContentEditor(request.POST)
        lines = TemplateLineFormSet(request.POST, prefix="lines")
        if all([meta.is_valid(), settings_form.is_valid(), editor.is_valid(), lines.is_valid()]):
            actor = Actor.from_request(request)
            try:
                content = editor.to_content()
                content["lines"] = _lines_from(
                    lines, settings_form.cleaned_data["currency"].upper()
                )
                with transaction.atomic():  # the label and the content change together
                    services.update_template(actor, template, **meta.cleaned_data)
                    version = services.edit_template(
                        actor, template, content=content, **settings_form.cleaned_data
                    )
            except ValidationError as exc:
                problems = editor.add_errors(exc)
            else:
                messages.success(
                    request,
                    f"Saved as draft version {version.number}. Submit it for approval to use it.",
                )
                return redirect("sales:template_detail", pk=template.pk)
        else:
            problems = ["Please correct the fields marked below."]
    else:
        meta = TemplateMetaForm(
            prefix="meta", initial={"name": template.name, "description": template.description}
        )
        settings_form = TemplateSettingsForm(
            prefix="settings",
            initial={
                "currency": base.currency if base else Organization.current().base_currency,
                "valid_days": base.valid_days if base else 30,
                "change_note": base.change_note if base and base.is_editable else "",
            },
        )
        editor = ContentEditor(content=base.content if base else {})
        lines = TemplateLineFormSet(prefix="lines", initial=_line_initial(base))
    return render(
        request,
        "sales/templates/edit.html",
        {
            "template": template,
            "base": base,
            "meta": meta,
            "settings_form": settings_form,
            "editor": editor,
            "lines": lines,
            "problems": problems,
            "merge_fields": MERGE_FIELDS,
        },
    )


def _version_of(template: ProposalTemplate, number: int) -> TemplateVersion:
    version = template.versions.filter(number=number).first()
    if version is None:
        raise Http404("No such version")
    return version


@requires("templates.manage")
@require_POST
def template_submit(request: HttpRequest, pk, number: int) -> HttpResponse:
    template = access.access_template(request.user, pk)
    try:
        services.submit_version(Actor.from_request(request), _version_of(template, number))
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "Submitted; approvers have been e-mailed.")
    return redirect("sales:template_detail", pk=template.pk)


@requires("templates.approve")
@require_POST
def template_decide(request: HttpRequest, pk, number: int) -> HttpResponse:
    template = access.access_template(request.user, pk)
    version = _version_of(template, number)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Approve or reject.")
        return redirect("sales:template_detail", pk=template.pk)
    decide = (
        services.approve_version
        if form.cleaned_data["decision"] == "approve"
        else services.reject_version
    )
    try:
        decide(Actor.from_request(request), version, form.cleaned_data["comment"])
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"Version {version.number} {form.cleaned_data['decision']}d.")
    return redirect("sales:template_detail", pk=template.pk)
