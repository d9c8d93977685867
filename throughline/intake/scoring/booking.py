"""Where a lead books a discovery call with its owner.

``booking_link_for(user)`` is the one lookup the qualification e-mail uses; the booking app
(issue 5, booking) replaces its body with the user's public booking page.
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
    """The user's booking page URL, or "" when they have none."""
    if user is None:
        return ""
    link = BookingLink.objects.filter(user=user).first()
    return link.url if link else ""


@transaction.atomic
def set_booking_link(actor: Actor, user: User, url: str) -> str:
    """Set (or with "" remove) a user's booking page URL."""
    url = (url or "").strip()
    before = booking_link_for(user)
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
