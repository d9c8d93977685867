"""Helpers shared by the sales views."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from throughline.core.views.common import add_service_errors  # noqa: F401 - re-exported
from throughline.crm.views.listing import safe_next  # noqa: F401 - re-exported


def error_messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        out = []
        for key, values in exc.message_dict.items():
            label = "" if key in ("__all__", "approval") else f"{key.replace('_', ' ')}: "
            out.extend(f"{label}{v}" for v in values)
        return out
    return list(exc.messages)


def flash_errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in error_messages(exc):
        messages.error(request, message)
