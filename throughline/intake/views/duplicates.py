"""Possible duplicates: the open list, and the side-by-side merge screen."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.crm.views.listing import paginate
from throughline.intake import access, merge
from throughline.intake.forms import DismissForm
from throughline.intake.models import PossibleDuplicate


@requires("leads.view")
def duplicate_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", PossibleDuplicate.Status.OPEN)
    if status not in PossibleDuplicate.Status.values:
        status = PossibleDuplicate.Status.OPEN
    duplicates = access.duplicates_for(request.user).filter(status=status)
    context = {
        "page": paginate(request, duplicates.order_by("-created_at")),
        "status": status,
        "statuses": PossibleDuplicate.Status.choices,
        "can_edit": request.user.can("leads.edit"),
    }
    return render(request, "intake/duplicates.html", context)


def _merge_context(request: HttpRequest, duplicate: PossibleDuplicate, **extra) -> dict:
    keep, other = duplicate.candidate, duplicate.contact
    return {
        "duplicate": duplicate,
        "lead": duplicate.lead,
        "keep": keep,
        "other": other,
        "choices": merge.field_choices(keep, other),
        "keep_counts": merge.related_counts(keep),
        "other_counts": merge.related_counts(other),
        "dismiss_form": extra.get("dismiss_form") or DismissForm(),
        "errors": extra.get("errors", []),
        "can_edit": request.user.can("leads.edit"),
    }


@requires("leads.view")
def duplicate_review(request: HttpRequest, pk) -> HttpResponse:
    duplicate = access.access_duplicate(request.user, pk)
    return render(request, "intake/merge.html", _merge_context(request, duplicate))


@requires("leads.edit")
@require_POST
def duplicate_decide(request: HttpRequest, pk) -> HttpResponse:
    """Merge (taking the chosen values) or dismiss ("not the same person")."""
    duplicate = access.access_duplicate(request.user, pk)
    actor = Actor.from_request(request)
    action = request.POST.get("action")
    dismiss_form = DismissForm(request.POST if action == "dismiss" else None)
    try:
        if action == "merge":
            take = [
                name for name in merge.MERGE_FIELDS if request.POST.get(f"field_{name}") == "other"
            ]
            survivor = merge.merge_duplicate(actor, duplicate, take=take)
            messages.success(request, f"Merged into {survivor}. Nothing was lost.")
            return redirect("intake:lead_detail", pk=duplicate.lead_id)
        if action == "dismiss" and dismiss_form.is_valid():
            merge.dismiss_duplicate(actor, duplicate, dismiss_form.cleaned_data["reason"])
            messages.success(request, "Marked as not the same person.")
            return redirect("intake:lead_detail", pk=duplicate.lead_id)
        errors = ["Choose “Merge” or “Not the same person”."]
    except ValidationError as exc:
        errors = exc.messages
    duplicate = access.access_duplicate(request.user, pk)
    context = _merge_context(request, duplicate, dismiss_form=dismiss_form, errors=errors)
    return render(request, "intake/merge.html", context)
