"""The public booking page ``/b/<slug>``, the attendee's manage page, the calendar feed.

No login. The booking page is rate-limited per IP and carries a honeypot field; a filled
honeypot gets the thank-you page and books nothing. Slots are shown in the visitor's time
zone: ``?tz=`` when given (a select on the page), else the browser's (a few lines of our own
JS set it), else the host's.
"""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from throughline.core import public_tokens
from throughline.core.access import public
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.intake.booking import services
from throughline.intake.booking.availability import (
    free_slots,
    group_by_local_day,
    is_valid_zone,
    parse_slot_key,
)
from throughline.intake.booking.models import Availability, Meeting
from throughline.intake.channels import ratelimit

BOOKING_RATE = "10/h"  # bookings per IP and page
PAGE_RATE = "300/h"
HONEYPOT = "website"
ZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


def _availability_or_404(slug: str) -> Availability:
    found = (
        Availability.objects.select_related("user")
        .filter(slug=slug, is_active=True, user__is_active=True)
        .first()
    )
    if found is None:
        raise Http404("No such booking page")
    return found


def _visitor_zone(request: HttpRequest, availability: Availability) -> str:
    asked = request.POST.get("tz") or request.GET.get("tz") or ""
    return asked if is_valid_zone(asked) else availability.time_zone


def _page(request, availability, *, tz, status=200, errors=None, problem="", values=None):
    slots = free_slots(availability)
    return render(
        request,
        "intake_booking/public/page.html",
        {
            "availability": availability,
            "host": availability.user,
            "tz": tz,
            "tz_given": bool(request.GET.get("tz") or request.POST.get("tz")),
            "zones": ZONES,
            "days": group_by_local_day(slots, tz),
            "errors": errors or {},
            "problem": problem,
            "values": values or {},
            "honeypot": HONEYPOT,
        },
        status=status,
    )


def _too_many(request, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "intake_booking/public/problem.html",
        {"problem": "Too many attempts from your network. Please try again later."},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


@public
@require_http_methods(["GET", "POST"])
def booking_page(request: HttpRequest, slug: str) -> HttpResponse:
    availability = _availability_or_404(slug)
    tz = _visitor_zone(request, availability)
    if request.method == "GET":
        limited = ratelimit.hit(request, f"booking-page:{slug}", PAGE_RATE)
        if limited:
            return _too_many(request, limited.retry_after)
        return _page(request, availability, tz=tz)
    limited = ratelimit.hit(request, f"booking:{slug}", BOOKING_RATE)
    if limited:
        return _too_many(request, limited.retry_after)
    values = {k: request.POST.get(k, "") for k in ("name", "email", "phone", "message", "slot")}
    if request.POST.get(HONEYPOT):
        # A bot filled the hidden field: it sees success, nothing is booked.
        return render(request, "intake_booking/public/booked.html", {"meeting": None}, status=200)
    starts_at = parse_slot_key(values["slot"])
    if starts_at is None:
        return _page(
            request,
            availability,
            tz=tz,
            status=400,
            errors={"slot": "Choose a time."},
            values=values,
        )
    actor = Actor.from_request(request, channel=Channel.PORTAL)
    try:
        booked = services.book_meeting(
            actor,
            availability,
            starts_at=starts_at,
            name=values["name"],
            email=values["email"],
            phone=values["phone"],
            message=values["message"],
            time_zone=tz,
        )
    except services.SlotTaken:
        values["slot"] = ""
        return _page(
            request,
            availability,
            tz=tz,
            status=409,
            problem="Sorry, that time was just taken. Here are the times still free.",
            values=values,
        )
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _page(
            request,
            availability,
            tz=tz,
            status=400,
            errors={k: v[0] for k, v in errors.items()},
            values=values,
        )
    return render(
        request,
        "intake_booking/public/booked.html",
        {
            "meeting": booked.meeting,
            "when": services.local_text(booked.meeting.starts_at, tz),
            "manage_url": services.manage_url(booked.manage_token),
        },
    )


def _meeting_for(token: str) -> Meeting:
    try:
        return public_tokens.resolve_token(token, services.MANAGE_SCOPE)
    except public_tokens.TokenError as exc:
        raise Http404(str(exc)) from exc


@public
@require_http_methods(["GET", "POST"])
def manage_meeting(request: HttpRequest, token: str) -> HttpResponse:
    meeting = _meeting_for(token)
    availability = Availability.objects.select_related("user").get(user=meeting.host)
    tz = request.POST.get("tz") or request.GET.get("tz") or meeting.attendee_time_zone
    tz = tz if is_valid_zone(tz) else meeting.attendee_time_zone
    actor = Actor.from_request(request, channel=Channel.PORTAL)
    problem, status = "", 200
    if request.method == "POST" and meeting.is_booked:
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.cancel_meeting(actor, meeting, reason=request.POST.get("reason", ""))
                meeting.refresh_from_db()
                return render(request, "intake_booking/public/cancelled.html", {"meeting": meeting})
            if action == "reschedule":
                starts_at = parse_slot_key(request.POST.get("slot", ""))
                if starts_at is None:
                    raise ValidationError("Choose a new time.")
                booked = services.reschedule_meeting(actor, meeting, starts_at=starts_at)
                return render(
                    request,
                    "intake_booking/public/booked.html",
                    {
                        "meeting": booked.meeting,
                        "when": services.local_text(booked.meeting.starts_at, tz),
                        "manage_url": services.manage_url(booked.manage_token),
                        "rescheduled": True,
                    },
                )
            raise ValidationError("Choose reschedule or cancel.")
        except services.SlotTaken:
            problem, status = "Sorry, that time was just taken. Pick another one.", 409
        except ValidationError as exc:
            problem, status = exc.messages[0], 400
    slots = free_slots(availability, ignore_meeting=meeting) if meeting.is_booked else []
    return render(
        request,
        "intake_booking/public/manage.html",
        {
            "meeting": meeting,
            "host": meeting.host,
            "when": services.local_text(meeting.starts_at, tz),
            "tz": tz,
            "days": group_by_local_day([s for s in slots if s.starts_at != meeting.starts_at], tz),
            "problem": problem,
        },
        status=status,
    )


@public
@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    try:
        body = services.feed_for_token(token)
    except public_tokens.TokenError as exc:
        raise Http404(str(exc)) from exc
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response
