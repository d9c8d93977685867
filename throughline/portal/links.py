"""The client's magic link to their portal: one per contact, scoped, expiring, re-sendable.

A link (``core.public_tokens``, scope "portal") opens the home page of the one contact it was
issued for; everything the portal shows is filtered by that contact. Links expire after
``DeliverySettings.portal_link_days``; the "send me a new link" page e-mails a fresh one to a
known address and answers the same whether the address is known or not.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from throughline.core import audit_log, public_tokens
from throughline.core.actor import Actor
from throughline.crm.models import Contact
from throughline.crm.normalize import normalize_email
from throughline.delivery.models import DeliverySettings, Project
from throughline.messaging.services import queue_email

SCOPE = "portal"


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def issue_link(contact: Contact) -> str:
    """A fresh raw token for ``contact``'s portal (shown once: it goes into an e-mail)."""
    days = DeliverySettings.current().portal_link_days
    return public_tokens.issue_token(SCOPE, contact, expires_in=dt.timedelta(days=days))


def home_url(raw: str) -> str:
    return absolute(reverse("portal:home", args=[raw]))


def has_portal(contact: Contact) -> bool:
    return Project.objects.filter(contact=contact).exists()


def find_contact(email: str) -> Contact | None:
    try:
        _, normalized = normalize_email(email)
    except Exception:  # noqa: BLE001 - any malformed input is "not found", silently
        return None
    return (
        Contact.objects.filter(email_normalized=normalized, projects__isnull=False)
        .distinct()
        .order_by("created_at")
        .first()
    )


@transaction.atomic
def send_link(actor: Actor, contact: Contact) -> None:
    """E-mail ``contact`` a fresh link to their portal."""
    from django.core.exceptions import ValidationError
    from django.template.loader import render_to_string

    from throughline.core.models import Organization

    if not contact.email:
        raise ValidationError({"contact": "This contact has no e-mail address."})
    organization = Organization.current()
    body = render_to_string(
        "portal/email/new_link.txt",
        {"contact": contact, "link": home_url(issue_link(contact)), "organization": organization},
    )
    queue_email(
        actor,
        to=contact.email,
        subject=f"Your link to {organization}'s client portal",
        body_text=body,
        contact=contact,
        source=f"portal.link:{contact.pk}",
    )
    audit_log.record(actor, "portal.link_sent", contact, changes={"to": [None, contact.email]})


def send_new_link(actor: Actor, email: str) -> bool:
    """E-mail a fresh link when ``email`` belongs to a client with a portal; True if sent.
    The caller answers the same either way (no account enumeration)."""
    contact = find_contact(email)
    if contact is None or not contact.email:
        return False
    send_link(actor, contact)
    return True
