"""Custom field definitions, managed from the settings area.

TRICKY: this page lives with the settings (core) but the definitions belong to crm, so this is
the one core module that imports crm (writes go through ``crm.custom_field_services``).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.crm import custom_field_services
from throughline.crm.models import CustomFieldDefinition


class CustomFieldForm(forms.Form):
    entity = forms.ChoiceField(label="Record type", choices=CustomFieldDefinition.Entity.choices)
    key = forms.SlugField(
        max_length=50, help_text="Stable name for the API and imports; cannot change later."
    )
    label = forms.CharField(max_length=100)
    kind = forms.ChoiceField(label="Type", choices=CustomFieldDefinition.Kind.choices)
    choices = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For a choice field: one choice per line.",
    )
    required = forms.BooleanField(required=False)
    position = forms.IntegerField(
        min_value=0, max_value=32767, initial=0, required=False, help_text="Order on the form."
    )

    def __init__(self, *args, instance: CustomFieldDefinition | None = None, **kwargs):
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial",
                {
                    "entity": instance.entity,
                    "key": instance.key,
                    "label": instance.label,
                    "kind": instance.kind,
                    "choices": "\n".join(map(str, instance.choices or [])),
                    "required": instance.required,
                    "position": instance.position,
                },
            )
        super().__init__(*args, **kwargs)
        if instance is not None:
            for frozen in ("entity", "key"):
                self.fields[frozen].disabled = True

    def service_data(self) -> dict:
        data = dict(self.cleaned_data)
        data["position"] = data.get("position") or 0
        if self.instance is not None:
            del data["entity"], data["key"]
        return data


@requires("settings.view")
def custom_field_list(request):
    definitions = CustomFieldDefinition.objects.all()
    return render(
        request,
        "core/custom_field_list.html",
        {
            "definitions": definitions,
            "can_manage": request.user.can("settings.manage"),
            "settings_tab": "custom_fields",
        },
    )


@requires("settings.manage")
def custom_field_create(request):
    form = CustomFieldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            definition = custom_field_services.create_custom_field(
                Actor.from_request(request), **form.service_data()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Custom field “{definition.label}” added.")
            return redirect("core:custom_field_list")
    return render(
        request,
        "core/custom_field_form.html",
        {"form": form, "definition": None, "settings_tab": "custom_fields"},
        status=400 if form.errors else 200,
    )


@requires("settings.manage")
def custom_field_edit(request, pk: int):
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    form = CustomFieldForm(request.POST or None, instance=definition)
    if request.method == "POST" and form.is_valid():
        try:
            custom_field_services.update_custom_field(
                Actor.from_request(request), definition, **form.service_data()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Custom field “{definition.label}” saved.")
            return redirect("core:custom_field_list")
    return render(
        request,
        "core/custom_field_form.html",
        {"form": form, "definition": definition, "settings_tab": "custom_fields"},
        status=400 if form.errors else 200,
    )


@requires("settings.manage")
@require_POST
def custom_field_delete(request, pk: int):
    definition = get_object_or_404(CustomFieldDefinition, pk=pk)
    custom_field_services.delete_custom_field(Actor.from_request(request), definition)
    messages.success(request, f"Custom field “{definition.label}” removed.")
    return redirect("core:custom_field_list")
