"""Staff: the form builder — forms, their fields (typed, ordered), embed code."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake.channels import builder
from throughline.intake.channels import forms as intake_forms
from throughline.intake.channels.models import FormField, IntakeForm
from throughline.intake.channels.staff_forms import FormFieldForm, IntakeFormForm


@requires("leads.edit")
def form_list(request: HttpRequest) -> HttpResponse:
    rows = IntakeForm.objects.prefetch_related("fields").order_by("name")
    return render(request, "intake_channels/forms/list.html", {"forms": rows})


@requires("leads.edit")
def form_create(request: HttpRequest) -> HttpResponse:
    form = IntakeFormForm(
        request.POST or None, initial={"title": "Get in touch", "source_slug": "website"}
    )
    if request.method == "POST" and form.is_valid():
        try:
            intake_form = builder.create_form(Actor.from_request(request), **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Form “{intake_form}” created with the usual fields.")
            return redirect("intake_channels:form_edit", pk=intake_form.pk)
    return render(request, "intake_channels/forms/form.html", {"form": form, "intake_form": None})


def _form(pk) -> IntakeForm:
    return get_object_or_404(IntakeForm, pk=pk)


@requires("leads.edit")
def form_edit(request: HttpRequest, pk) -> HttpResponse:
    intake_form = _form(pk)
    form = IntakeFormForm(request.POST or None, instance=intake_form)
    if request.method == "POST" and form.is_valid():
        try:
            builder.update_form(Actor.from_request(request), intake_form, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Form saved.")
            return redirect("intake_channels:form_edit", pk=intake_form.pk)
    fields = list(
        intake_form.fields.prefetch_related("consent_wordings").order_by("position", "id")
    )
    context = {
        "form": form,
        "intake_form": IntakeForm.objects.get(pk=intake_form.pk),
        "fields": fields,
        "public_url": request.build_absolute_uri(
            reverse("intake_channels:form_page", args=[intake_form.slug])
        ),
    }
    return render(request, "intake_channels/forms/form.html", context)


@requires("leads.edit")
def form_embed_code(request: HttpRequest, pk) -> HttpResponse:
    intake_form = _form(pk)
    page = request.build_absolute_uri(reverse("intake_channels:form_page", args=[intake_form.slug]))
    embed = request.build_absolute_uri(
        reverse("intake_channels:form_embed", args=[intake_form.slug])
    )
    json_url = request.build_absolute_uri(
        reverse("intake_channels:form_json", args=[intake_form.slug])
    )
    public_form = intake_forms.PublicForm(intake_form)
    context = {
        "intake_form": intake_form,
        "page_url": page,
        "embed_url": embed,
        "json_url": json_url,
        "form": public_form,
        "token": intake_forms.issue_token(intake_form, embed=True),
        "token_field": intake_forms.TOKEN_FIELD,
        "honeypot_field": intake_forms.HONEYPOT_FIELD,
    }
    return render(request, "intake_channels/forms/embed.html", context)


def _field(intake_form: IntakeForm, field_id) -> FormField:
    field = intake_form.fields.filter(pk=field_id).first()
    if field is None:
        raise Http404("No such field")
    return field


@requires("leads.edit")
def field_edit(request: HttpRequest, pk, field_id=None) -> HttpResponse:
    intake_form = _form(pk)
    field = _field(intake_form, field_id) if field_id is not None else None
    form = FormFieldForm(request.POST or None, instance=field)
    if request.method == "POST" and form.is_valid():
        try:
            builder.save_field(
                Actor.from_request(request), intake_form, field, **form.service_data()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Field saved.")
            return redirect("intake_channels:form_edit", pk=intake_form.pk)
    wordings = list(field.consent_wordings.all()) if field is not None else []
    context = {"form": form, "intake_form": intake_form, "field": field, "wordings": wordings}
    return render(request, "intake_channels/forms/field.html", context)


@requires("leads.edit")
@require_POST
def field_delete(request: HttpRequest, pk, field_id) -> HttpResponse:
    intake_form = _form(pk)
    builder.delete_field(Actor.from_request(request), _field(intake_form, field_id))
    messages.success(request, "Field removed.")
    return redirect("intake_channels:form_edit", pk=intake_form.pk)


@requires("leads.edit")
@require_POST
def field_move(request: HttpRequest, pk, field_id) -> HttpResponse:
    intake_form = _form(pk)
    direction = -1 if request.POST.get("direction") == "up" else 1
    builder.move_field(Actor.from_request(request), _field(intake_form, field_id), direction)
    return redirect(reverse("intake_channels:form_edit", args=[intake_form.pk]) + "#fields")
