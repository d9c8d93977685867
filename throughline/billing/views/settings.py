"""Staff page of billing's settings: when delivery's milestones are invoiced."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from throughline.billing.models import BillingSettings, Invoice
from throughline.billing.services import billing_settings
from throughline.core.access import requires
from throughline.core.actor import Actor


@requires("billing.view")
@require_safe
def settings_page(request: HttpRequest) -> HttpResponse:
    recent = (
        Invoice.objects.filter(source__startswith="delivery.")
        .select_related("contact")
        .order_by("-created_at")[:20]
    )
    context = {
        "settings": BillingSettings.current(),
        "triggers": BillingSettings.MilestoneTrigger.choices,
        "recent": recent,
        "can_manage": request.user.can("billing.issue"),
    }
    return render(request, "billing/settings/settings.html", context)


@requires("billing.issue")
@require_POST
def settings_save(request: HttpRequest) -> HttpResponse:
    try:
        billing_settings.set_milestone_trigger(
            Actor.from_request(request), request.POST.get("invoice_milestones_on", "")
        )
    except ValidationError as exc:
        messages.error(request, f"Settings not saved: {' '.join(exc.messages)}")
    else:
        messages.success(request, "Billing settings saved.")
    return redirect("billing:settings")
