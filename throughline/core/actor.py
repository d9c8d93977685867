"""Who is acting, through which channel, for which request: passed to every service call."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from throughline.core.models.audit import Channel

if TYPE_CHECKING:
    from django.http import HttpRequest

    from throughline.core.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    channel: str
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ip: str | None = None
    label: str = ""

    @property
    def display(self) -> str:
        if self.user is not None:
            return self.user.email
        return self.label or self.channel

    def can(self, permission: str) -> bool:
        return self.user is not None and self.user.can(permission)

    @classmethod
    def from_request(cls, request: HttpRequest, channel: str = Channel.UI) -> Actor:
        user = (
            request.user
            if getattr(request, "user", None) and request.user.is_authenticated
            else None
        )
        return cls(
            user=user,
            channel=channel,
            request_id=getattr(request, "request_id", "") or uuid.uuid4().hex,
            ip=client_ip(request),
        )

    @classmethod
    def system(cls, channel: str = Channel.SYSTEM, label: str = "") -> Actor:
        return cls(user=None, channel=channel, label=label or channel)

    @classmethod
    def cli(cls, user: User | None = None) -> Actor:
        return cls(user=user, channel=Channel.CLI, label="command line")


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: trusting X-Forwarded-For needs a configured proxy (README).
    return request.META.get("REMOTE_ADDR") or None
