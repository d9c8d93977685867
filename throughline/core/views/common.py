"""Small helpers shared by the core views."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from throughline.core.access import record_denied
from throughline.core.roles import PERMISSIONS


def ensure_permission(request: HttpRequest, permission: str) -> None:
    """A second, stricter permission inside a view (e.g. POST on a page others may read)."""
    if not request.user.can(permission):
        record_denied(request, permission, "ui")
        raise PermissionDenied(f"Your role does not allow this: {PERMISSIONS[permission]}.")


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: per field when the field exists."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, messages in exc.message_dict.items():
        if field in form.fields:
            target, prefix = field, ""
        elif field == NON_FIELD_ERRORS:
            target, prefix = None, ""
        else:  # a service-level name the form does not show, e.g. "custom.size"
            target, prefix = None, f"{field}: "
        for message in messages:
            form.add_error(target, prefix + message)


def safe_next(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default
