"""Staff: "Convert to a deal" from the lead page — pipeline stage and value, nothing retyped."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.core.views.common import add_service_errors, ensure_permission
from throughline.intake import access as intake_access
from throughline.intake.scoring.conversion import answers
from throughline.sales.models import Stage
from throughline.sales.services.lead_conversion import convert_lead, deal_title


class ConvertForm(forms.Form):
    title = forms.CharField(max_length=200)
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), label="Pipeline and stage")
    value = forms.CharField(label="Value estimate", max_length=20, required=False)
    currency = forms.CharField(max_length=3, help_text="ISO 4217, e.g. EUR")
    expected_close_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stages = Stage.objects.filter(pipeline__archived=False).select_related("pipeline")
        self.fields["stage"].queryset = stages.order_by(
            "-pipeline__is_default", "pipeline__position", "pipeline__name", "position"
        )
        self.fields["stage"].label_from_instance = lambda s: f"{s.pipeline.name}: {s.name}"


@requires("sales.edit")
def convert(request: HttpRequest, pk) -> HttpResponse:
    ensure_permission(request, "leads.edit")
    lead = intake_access.access_lead(request.user, pk)
    if request.method == "POST":
        form = ConvertForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            stage = data.pop("stage")
            try:
                deal = convert_lead(
                    Actor.from_request(request), lead, pipeline=stage.pipeline, stage=stage, **data
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Lead converted: deal “{deal.title}”.")
                return redirect(reverse("sales:deal_detail", args=[deal.pk]))
        status = 400
    else:
        first = ConvertForm().fields["stage"].queryset.first()
        form = ConvertForm(
            initial={
                "title": deal_title(lead),
                "stage": first.pk if first else None,
                "currency": Organization.current().base_currency,
                "value": (lead.custom or {}).get("budget", ""),
            }
        )
        status = 200
    return render(
        request,
        "sales/lead_conversion/convert.html",
        {"lead": lead, "form": form, "answers": answers(lead)},
        status=status,
    )
