"""One lead: detail with the contact's timeline, quick actions, and manual entry."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm import access as crm_access
from throughline.crm.custom_fields import definitions
from throughline.crm.forms import apply_service_errors
from throughline.crm.timeline import timeline_for
from throughline.crm.views.listing import match_all_terms
from throughline.intake import access, services, sla
from throughline.intake.forms import CallForm, EmailForm, LeadForm, RejectForm
from throughline.intake.models import Lead, PossibleDuplicate

TIMELINE_LABELS = {
    "note": "Note",
    "call": "Call",
    "email": "E-mail",
    "meeting": "Meeting",
    "task": "Task",
    "consent": "Consent",
    "audit": "Change",
    "lead": "Lead",
    "merge": "Merge",
}


def _detail_context(request: HttpRequest, lead: Lead, **forms) -> dict:
    user = request.user
    custom = lead.custom or {}
    can_act = user.can("leads.edit") and lead.status in Lead.OPEN_STATUSES
    return {
        "lead": lead,
        "contact": lead.contact,
        "sla_state": sla.sla_state(lead),
        "timeline": [
            {"entry": e, "label": TIMELINE_LABELS.get(e.kind, e.kind.title())}
            for e in timeline_for(lead.contact, limit=60)
        ],
        "duplicates": lead.possible_duplicates.select_related("candidate", "candidate__company")
        .alias(still_open=Q(status=PossibleDuplicate.Status.OPEN))
        .order_by("-still_open", "-confidence"),
        "custom_rows": [
            (d.label, d.kind, custom[d.key]) for d in definitions("lead") if d.key in custom
        ],
        "can_edit": user.can("leads.edit"),
        "can_act": can_act,
        "can_see_contact": user.can("crm.view"),
        "call_form": forms.get("call_form") or CallForm(prefix="call"),
        "email_form": forms.get("email_form") or EmailForm(prefix="email"),
        "reject_form": forms.get("reject_form") or RejectForm(prefix="reject"),
        "open_action": forms.get("open_action", ""),
        "now": timezone.now(),
    }


@requires("leads.view")
def lead_detail(request: HttpRequest, pk) -> HttpResponse:
    lead = access.access_lead(request.user, pk)
    return render(request, "intake/detail.html", _detail_context(request, lead))


def _after_action(request: HttpRequest, lead: Lead, done: str) -> HttpResponse:
    messages.success(request, done)
    return redirect(reverse("intake:lead_detail", args=[lead.pk]))


def _failed(request, lead, form_name: str, form) -> HttpResponse:
    # 200 with the errors on the form: htmx and plain browsers both show them.
    context = _detail_context(request, lead, **{form_name: form, "open_action": form_name})
    return render(request, "intake/detail.html", context)


@requires("leads.edit")
@require_POST
def lead_log_call(request: HttpRequest, pk) -> HttpResponse:
    lead = access.access_lead(request.user, pk)
    form = CallForm(request.POST, prefix="call")
    if form.is_valid():
        try:
            services.log_call(Actor.from_request(request), lead, **form.service_data())
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _after_action(request, lead, "Call logged.")
    return _failed(request, lead, "call_form", form)


@requires("leads.edit")
@require_POST
def lead_send_email(request: HttpRequest, pk) -> HttpResponse:
    lead = access.access_lead(request.user, pk)
    form = EmailForm(request.POST, prefix="email")
    if form.is_valid():
        try:
            message = services.send_lead_email(
                Actor.from_request(request), lead, template_key=form.cleaned_data["template"]
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _after_action(request, lead, f"E-mail “{message.subject}” queued.")
    return _failed(request, lead, "email_form", form)


@requires("leads.edit")
@require_POST
def lead_reject(request: HttpRequest, pk) -> HttpResponse:
    lead = access.access_lead(request.user, pk)
    form = RejectForm(request.POST, prefix="reject")
    if form.is_valid():
        try:
            services.reject_lead(Actor.from_request(request), lead, **form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _after_action(request, lead, "Lead rejected.")
    return _failed(request, lead, "reject_form", form)


@requires("leads.edit")
def lead_create(request: HttpRequest) -> HttpResponse:
    """Manual entry (and referrals: pick the contact who recommended us)."""
    user = request.user
    if request.method != "POST":
        initial = {}
        referrer = request.GET.get("referred_by", "")
        if referrer:
            contact = crm_access.contacts_for(user).filter(pk=_uuid_or_none(referrer)).first()
            if contact is not None:
                initial = {"referred_by": contact.email or str(contact.pk), "source": "referral"}
        return render(request, "intake/form.html", {"form": LeadForm(user=user, initial=initial)})
    form = LeadForm(request.POST, user=user)
    if form.is_valid():
        actor = Actor.from_request(request)
        try:
            result = services.capture_lead(actor, form.lead_input(ip=actor.ip))
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            note = "Lead captured"
            if result.matched_on:
                note += (
                    f" — linked to the existing contact {result.contact} (same {result.matched_on})"
                )
            if result.possible_duplicates:
                note += "; it may duplicate an existing contact, see below"
            messages.success(request, note + ".")
            return redirect("intake:lead_detail", pk=result.lead.pk)
    return render(request, "intake/form.html", {"form": form})


def _uuid_or_none(value: str):
    try:
        return uuid.UUID(value)
    except (TypeError, ValueError):
        return None


@requires("leads.edit")
def contact_suggestions(request: HttpRequest) -> HttpResponse:
    """``<option>``s for the "Referred by" input: contacts whose name or e-mail match."""
    text = " ".join(request.GET.get("referred_by", "").split())[:100]
    contacts = []
    if len(text) >= 2 and request.user.can("crm.view"):
        contacts = list(
            crm_access.contacts_for(request.user)
            .filter(match_all_terms(text, ("first_name", "last_name", "email")))
            .exclude(email="")
            .order_by("last_name", "first_name")[:10]
        )
    return render(request, "intake/_contact_options.html", {"contacts": contacts})
