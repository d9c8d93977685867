"""E-mails sales sends: to approvers, mentioned colleagues, the deal owner and the client.

Each is a durable outbound message (messaging.queue_email) queued in the caller's transaction,
so a notification exists if and only if the change it announces does. Bodies are plain text
rendered from ``templates/sales/email/*.txt``; text typed by a client stays plain text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from throughline.core.actor import Actor
from throughline.core.models import Organization, User
from throughline.core.roles import ROLE_PERMISSIONS
from throughline.messaging.services import queue_email


def absolute(path: str) -> str:
    return settings.BASE_URL + path


def staff_url(name: str, *args: Any) -> str:
    return absolute(reverse(name, args=args))


def users_with(permission: str) -> list[User]:
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if permission in perms]
    return list(User.objects.filter(is_active=True, role__in=roles).order_by("email"))


def _subject(text: str) -> str:
    return " ".join(text.split())[:300]


def email_users(
    actor: Actor,
    users: Iterable[User],
    *,
    subject: str,
    template: str,
    context: dict[str, Any],
    source: str,
    exclude: User | None = None,
) -> int:
    sent = 0
    seen = set()
    for user in users:
        if user is None or not user.is_active or not user.email or user.pk in seen:
            continue
        if exclude is not None and user.pk == exclude.pk:
            continue
        seen.add(user.pk)
        body = render_to_string(
            template, {**context, "recipient": user, "organization": Organization.current()}
        )
        queue_email(actor, to=user.email, subject=_subject(subject), body_text=body, source=source)
        sent += 1
    return sent


def email_client(
    actor: Actor,
    *,
    to: str,
    contact,
    subject: str,
    template: str,
    context: dict[str, Any],
    source: str,
    reply_to: str = "",
    idempotency_key: str | None = None,
):
    body = render_to_string(template, {**context, "organization": Organization.current()})
    return queue_email(
        actor,
        to=to,
        subject=_subject(subject),
        body_text=body,
        contact=contact,
        source=source,
        reply_to=reply_to,
        idempotency_key=idempotency_key,
    )
