"""Staff: "Log a call" — an unknown caller becomes a lead, a known one gets a timeline entry."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake.channels import calls
from throughline.intake.channels.models import CallLog
from throughline.intake.channels.staff_forms import CallForm


@requires("leads.view")
def call_list(request: HttpRequest) -> HttpResponse:
    rows = CallLog.objects.select_related("contact", "lead", "logged_by").order_by("-started_at")[
        :100
    ]
    return render(
        request,
        "intake_channels/calls/list.html",
        {"calls": rows, "can_edit": request.user.can("leads.edit")},
    )


@requires("leads.edit")
def call_create(request: HttpRequest) -> HttpResponse:
    form = CallForm(request.POST or None, initial={"caller": request.GET.get("caller", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        minutes = data.get("duration_minutes")
        try:
            log, _ = calls.log_incoming_call(
                Actor.from_request(request),
                calls.CallInput(
                    caller=data["caller"],
                    caller_name=data.get("caller_name") or "",
                    started_at=data.get("started_at"),
                    duration_seconds=minutes * 60 if minutes is not None else None,
                    notes=data.get("notes") or "",
                    recording_url=data.get("recording_url") or "",
                ),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if log.lead_id:
                messages.success(request, "Unknown caller: a new lead was created.")
                return redirect(reverse("intake:lead_detail", args=[log.lead_id]))
            messages.success(request, f"Call logged on {log.contact}'s timeline.")
            return redirect(reverse("crm:contact_detail", args=[log.contact_id]))
    return render(
        request,
        "intake_channels/calls/form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
