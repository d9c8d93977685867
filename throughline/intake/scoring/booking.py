"""Where a lead books a discovery call with its owner.

``booking_link_for(user)`` is the one lookup the qualification e-mail uses: a link the user
set by hand (an outside calendar tool), else their page of the built-in booking app.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import User
from throughline.intake.scoring.models import BookingLink


def booking_link_for(user: User | None) -> str:
    """The user's booking page URL ("" without a user)."""
    if user is None:
        return ""
    link = BookingLink.objects.filter(user=user).first()
    if link is not None:
        return link.url
    from throughline.intake.booking import services as booking

    return booking.booking_link_for(user)


def manual_booking_link(user: User) -> str:
    link = BookingLink.objects.filter(user=user).first()
    return link.url if link else ""


@transaction.atomic
def set_booking_link(actor: Actor, user: User, url: str) -> str:
    """Set (or with "" remove) a user's booking page URL."""
    url = (url or "").strip()
    before = manual_booking_link(user)
    if url:
        try:
            URLValidator(schemes=["https", "http"])(url)
        except ValidationError as exc:
            raise ValidationError({"url": "Give the full address, https://…"}) from exc
        BookingLink.objects.update_or_create(user=user, defaults={"url": url})
    else:
        BookingLink.objects.filter(user=user).delete()
    audit_log.record(actor, "user.booking_link_set", user, changes={"booking_url": [before, url]})
    return url
