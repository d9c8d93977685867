"""Tell people: an in-app notification, and an e-mail when it matters.

``alert_admins`` is what a dead-lettered step (or anything else that needs a human) calls:
owners and admins get a notification and a transactional e-mail, once per ``dedupe_key``.
Both are written in the caller's transaction, so an alert exists if and only if the problem
was recorded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.automation.models import Notification
from throughline.core.actor import Actor
from throughline.core.models import Channel, User
from throughline.core.roles import Role


def notify(
    user: User,
    title: str,
    body: str = "",
    *,
    url: str = "",
    level: str = Notification.Level.INFO,
    email: bool = False,
    dedupe_key: str | None = None,
    actor: Actor | None = None,
) -> Notification | None:
    """Add a notification (and queue an e-mail); ``None`` when ``dedupe_key`` was used before."""
    key = f"{dedupe_key}:{user.pk}"[:200] if dedupe_key else None
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                user=user,
                title=title[:200],
                body=body,
                url=url[:500],
                level=level,
                dedupe_key=key,
            )
    except IntegrityError:
        return None
    if email and user.email:
        from throughline.messaging.services import queue_email

        link = f"\n\n{settings.BASE_URL}{url}" if url else ""
        queue_email(
            actor or Actor.system(Channel.WORKER, label="automation"),
            to=user.email,
            subject=title[:300],
            body_text=f"{body}{link}",
            source=f"automation.notification:{notification.pk}",
            idempotency_key=f"notification:{notification.pk}",
        )
    return notification


def admins() -> list[User]:
    return list(User.objects.filter(is_active=True, role__in=[Role.OWNER, Role.ADMIN]))


def alert_admins(
    title: str, body: str = "", *, url: str = "", dedupe_key: str, email: bool = True
) -> int:
    """Alert every owner and admin in the app and by e-mail; returns how many were told."""
    told = 0
    for user in admins():
        if notify(
            user,
            title,
            body,
            url=url,
            level=Notification.Level.ERROR,
            email=email,
            dedupe_key=dedupe_key,
        ):
            told += 1
    return told


def unread_count(user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user: User, ids: list[int] | None = None) -> int:
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    return unread.update(read_at=timezone.now())
