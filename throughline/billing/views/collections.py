"""Staff pages for collections: the reminder policy, an invoice's reminders, disputes, pauses."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from throughline.billing import access
from throughline.billing.models import DunningCase, DunningPause, DunningPolicy, Reminder
from throughline.billing.services import dunning, late_fees
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm.access import access_contact


def _problem(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@requires("billing.view")
@require_safe
def policy_page(request: HttpRequest) -> HttpResponse:
    policy = dunning.current_policy()
    rates = sorted(late_fees.reference_rates().items(), reverse=True)
    counts = Reminder.objects.values("step_index", "outcome").annotate(n=Count("id")).order_by()
    stats: dict[int, dict[str, int]] = {}
    for row in counts:
        stats.setdefault(row["step_index"], {})[row["outcome"]] = row["n"]
    steps = [
        {
            **step,
            "sent": stats.get(i, {}).get("sent", 0),
            "skipped": stats.get(i, {}).get("skipped", 0),
        }
        for i, step in enumerate(policy.steps)
    ]
    context = {
        "policy": policy,
        "steps": steps,
        "kinds": DunningPolicy.Kind.choices,
        "steps_json": json.dumps(policy.steps, indent=2),
        "rates": rates[:8],
        "pauses": DunningPause.objects.select_related("contact").order_by("-created_at")[:100],
        "disputes": DunningCase.objects.filter(state=DunningCase.State.DISPUTED)
        .select_related("invoice", "invoice__contact")
        .order_by("-disputed_at")[:100],
        "can_manage": request.user.can("billing.issue"),
    }
    return render(request, "billing/collections/policy.html", context)


@requires("billing.issue")
@require_POST
def policy_save(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    steps = None
    try:
        if kind == DunningPolicy.Kind.CUSTOM:
            try:
                steps = json.loads(request.POST.get("steps") or "[]")
            except json.JSONDecodeError as exc:
                raise ValidationError({"steps": [f"The steps are not valid JSON: {exc}"]}) from exc
        dunning.set_policy(
            Actor.from_request(request),
            kind=kind,
            steps=steps,
            is_active=request.POST.get("is_active") == "on",
            interest_margin=request.POST.get("interest_margin"),
            recovery_fee=request.POST.get("recovery_fee"),
            recovery_fee_currency=request.POST.get("recovery_fee_currency"),
        )
    except ValidationError as exc:
        messages.error(request, f"Policy not saved: {_problem(exc)}")
    else:
        messages.success(request, "Reminder policy saved.")
    return redirect("billing:dunning_policy")


@requires("billing.issue")
@require_POST
def reference_rate_save(request: HttpRequest) -> HttpResponse:
    try:
        try:
            start = dt.date.fromisoformat(request.POST.get("period_start", ""))
        except ValueError as exc:
            raise ValidationError({"period_start": ["Give a date (YYYY-MM-DD)."]}) from exc
        dunning.set_reference_rate(Actor.from_request(request), start, request.POST.get("rate"))
    except ValidationError as exc:
        messages.error(request, f"Rate not saved: {_problem(exc)}")
    else:
        messages.success(request, "Reference rate saved.")
    return redirect("billing:dunning_policy")


@requires("billing.view")
@require_safe
def invoice_reminders(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    context = {
        "invoice": invoice,
        "case": DunningCase.objects.filter(invoice=invoice).first(),
        "reminders": invoice.reminders.select_related("message", "task").order_by("step_index"),
        "fees": invoice.late_fees.select_related("fee_invoice").order_by("created_at"),
        "paused": DunningPause.objects.filter(contact_id=invoice.contact_id).first(),
        "can_manage": request.user.can("billing.issue"),
    }
    return render(request, "billing/collections/reminders.html", context)


@requires("billing.issue")
@require_POST
def invoice_dispute(request: HttpRequest, pk) -> HttpResponse:
    invoice = access.access_invoice(request.user, pk)
    actor = Actor.from_request(request)
    try:
        if request.POST.get("action") == "resolve":
            dunning.resolve_dispute(actor, invoice)
            messages.success(request, "Dispute resolved: reminders resume.")
        else:
            dunning.dispute_invoice(actor, invoice, request.POST.get("reason", ""))
            messages.success(request, "Marked as disputed: reminders stopped.")
    except ValidationError as exc:
        messages.error(request, _problem(exc))
    return redirect("billing:invoice_reminders", pk=invoice.pk)


@requires("billing.issue")
@require_POST
def contact_pause(request: HttpRequest, pk) -> HttpResponse:
    contact = access_contact(request.user, pk)
    actor = Actor.from_request(request)
    if request.POST.get("action") == "resume":
        dunning.resume_dunning(actor, contact)
        messages.success(request, f"Reminders resume for {contact}.")
    else:
        dunning.pause_dunning(actor, contact, request.POST.get("reason", ""))
        messages.success(request, f"Reminders paused for {contact}.")
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("billing:dunning_policy")
