"""Staff pages: my availability and booking page, time off, calendar feed, meetings, nurture."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from throughline.automation.models import Sequence
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake.booking import nurture, services
from throughline.intake.booking.availability import zone
from throughline.intake.booking.forms import AvailabilityForm, TimeOffForm
from throughline.intake.booking.models import Meeting, TimeOff


def _aware(value, tz_name):
    """What the person typed, read as wall-clock time in their own zone (the form's field
    has made it aware in the server's zone)."""
    if timezone.is_aware(value):
        value = timezone.make_naive(value)
    return value.replace(tzinfo=zone(tz_name))


@requires("leads.edit")
def my_availability(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    availability = services.ensure_availability(actor, request.user)
    form = AvailabilityForm(
        request.POST or None, initial=AvailabilityForm.initial_for(availability)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_availability(actor, request.user, **form.service_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Availability saved.")
            return redirect("intake_booking:availability")
    return render(
        request,
        "intake_booking/staff/availability.html",
        {
            "form": form,
            "availability": availability,
            "page_url": services.page_url(availability),
            "time_off": TimeOff.objects.filter(user=request.user, ends_at__gt=timezone.now()),
            "time_off_form": TimeOffForm(),
            "meetings": Meeting.objects.filter(
                host=request.user, status=Meeting.Status.BOOKED, ends_at__gt=timezone.now()
            ).select_related("contact")[:50],
            "feed_url": request.session.pop("booking_feed_url", ""),
        },
        status=400 if form.errors else 200,
    )


@requires("leads.edit")
@require_POST
def time_off_add(request: HttpRequest) -> HttpResponse:
    form = TimeOffForm(request.POST)
    availability = services.ensure_availability(Actor.from_request(request), request.user)
    if form.is_valid():
        try:
            services.add_time_off(
                Actor.from_request(request),
                request.user,
                starts_at=_aware(form.cleaned_data["starts_at"], availability.time_zone),
                ends_at=_aware(form.cleaned_data["ends_at"], availability.time_zone),
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, "Time off added: no bookings, no new leads then.")
    else:
        messages.error(request, "Give the start and end of your time off.")
    return redirect("intake_booking:availability")


@requires("leads.edit")
@require_POST
def time_off_delete(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(TimeOff, pk=pk, user=request.user)
    services.delete_time_off(Actor.from_request(request), item)
    messages.success(request, "Time off removed.")
    return redirect("intake_booking:availability")


@requires("leads.edit")
@require_POST
def feed_issue(request: HttpRequest) -> HttpResponse:
    raw = services.issue_feed_token(Actor.from_request(request), request.user)
    # Shown once, on the next page (the raw secret is never stored).
    request.session["booking_feed_url"] = services.feed_url(raw)
    messages.success(request, "New calendar feed link created; older links stop working.")
    return redirect("intake_booking:availability")


@requires("leads.view")
def meeting_list(request: HttpRequest) -> HttpResponse:
    rows = (
        Meeting.objects.filter(ends_at__gt=timezone.now() - timezone.timedelta(days=7))
        .select_related("host", "contact", "lead")
        .order_by("starts_at")[:200]
    )
    return render(
        request,
        "intake_booking/staff/meetings.html",
        {"meetings": rows, "can_edit": request.user.can("leads.edit")},
    )


@requires("leads.edit")
@require_POST
def meeting_cancel(request: HttpRequest, pk) -> HttpResponse:
    meeting = get_object_or_404(Meeting, pk=pk)
    try:
        services.cancel_meeting(
            Actor.from_request(request), meeting, reason=request.POST.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, "Meeting cancelled; both sides were told.")
    return redirect("intake_booking:meeting_list")


@requires("leads.view")
def nurture_results(request: HttpRequest) -> HttpResponse:
    sequences = Sequence.objects.filter(purpose=Sequence.Purpose.NURTURE)
    return render(
        request,
        "intake_booking/staff/nurture.html",
        {"results": [nurture.lead_results(s) for s in sequences]},
    )
