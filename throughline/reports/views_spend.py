"""Staff page to enter marketing spend per lead source and month (permission ``reports.spend``:
owner and admin); the figures it feeds are cost per lead and per won deal in the funnel."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.reports import spend
from throughline.reports.common import base_currency, org_today
from throughline.reports.models import SourceSpend

MONTHS_SHOWN = 12


class SpendForm(forms.Form):
    source = forms.ChoiceField(label="Lead source")
    month = forms.CharField(
        label="Month", widget=forms.DateInput(attrs={"type": "month"}), help_text="YYYY-MM"
    )
    amount = forms.CharField(label="Amount", widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    note = forms.CharField(label="Note", required=False, max_length=spend.NOTE_LENGTH)

    def __init__(self, *args, **kwargs):
        from throughline.intake.models import LeadSource

        super().__init__(*args, **kwargs)
        self.fields["source"].choices = list(
            LeadSource.objects.order_by("name").values_list("slug", "name")
        )
        self.fields["amount"].help_text = (
            f"In {base_currency()}, the organization's base currency. "
            "Entering a month again replaces its amount."
        )


def _first_month_shown(today: dt.date) -> dt.date:
    """The first day of the month ``MONTHS_SHOWN - 1`` months before ``today``'s."""
    index = today.year * 12 + today.month - 1 - (MONTHS_SHOWN - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


@requires("reports.spend")
def spend_list(request):
    form = SpendForm(request.POST or None, initial={"month": org_today().strftime("%Y-%m")})
    if request.method == "POST" and form.is_valid():
        try:
            entry, created = spend.record_spend(
                Actor.from_request(request),
                source=form.cleaned_data["source"],
                month=form.cleaned_data["month"],
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            verb = "recorded" if created else "updated"
            messages.success(request, f"Spend {verb}: {entry}.")
            return redirect("reports:spend")
    since = _first_month_shown(org_today())
    entries = (
        SourceSpend.objects.filter(month__gte=since)
        .select_related("source", "created_by")
        .order_by("-month", "source__name")
    )
    return render(
        request,
        "reports/spend.html",
        {"form": form, "entries": entries, "since": since, "currency": base_currency()},
        status=400 if form.errors else 200,
    )


@requires("reports.spend")
@require_POST
def spend_delete(request, pk):
    entry = get_object_or_404(SourceSpend, pk=pk)
    label = str(entry)
    spend.delete_spend(Actor.from_request(request), entry)
    messages.success(request, f"Spend deleted: {label}.")
    return redirect("reports:spend")
