"""Permission checks for views, in one place.

Every view is wrapped by ``requires("area.verb")`` or explicitly marked ``public`` (login page,
health checks, magic-link pages that check their own token). A test walks every URL pattern
and fails when a view has neither. A denied attempt answers 403 and is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.roles import PERMISSIONS

PERMISSION_ATTR = "throughline_permission"
PUBLIC_ATTR = "throughline_public"


def record_denied(request: HttpRequest, permission: str, channel: str) -> None:
    with transaction.atomic():
        audit_log.record(
            Actor.from_request(request, channel=channel),
            "access.denied",
            object_type="route",
            object_id=request.path[:64],
            object_repr=f"{request.method} {request.path}"[:200],
            changes={"permission": [None, permission]},
        )


def _to_login(request: HttpRequest) -> HttpResponse:
    """Send an anonymous visitor to the login page; an htmx request gets HX-Redirect so the
    login page replaces the whole page instead of being swapped into a fragment."""
    if request.headers.get("HX-Request") == "true":
        target = redirect_to_login(request.headers.get("HX-Current-URL") or request.get_full_path())
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target["Location"]
        return response
    return redirect_to_login(request.get_full_path())


def requires(permission: str) -> Callable:
    """Login required, and the user's role must grant ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return _to_login(request)
            if not user.can(permission):
                record_denied(request, permission, "ui")
                raise PermissionDenied(f"Your role does not allow {PERMISSIONS[permission]}.")
            return view(request, *args, **kwargs)

        setattr(wrapped, PERMISSION_ATTR, permission)
        return wrapped

    return decorate


def login_only(view: Callable) -> Callable:
    """Any signed-in staff user (own profile, own tokens, the home page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return _to_login(request)
        return view(request, *args, **kwargs)

    setattr(wrapped, PERMISSION_ATTR, "login")
    return wrapped


def public(view: Callable) -> Callable:
    """No login: the view checks its own token or exposes nothing private."""
    setattr(view, PUBLIC_ATTR, True)
    return view


def declared_permission(view: Callable) -> str | None:
    """What a resolved view declares: a permission code, "login", "public", or None."""
    candidates = [view, getattr(view, "view_class", None), getattr(view, "cls", None)]
    for candidate in candidates:
        if candidate is None:
            continue
        if getattr(candidate, PUBLIC_ATTR, False):
            return "public"
        permission = getattr(candidate, PERMISSION_ATTR, None)
        if permission:
            return permission
        # REST API views declare a table of permissions per action (api.permissions).
        table = getattr(candidate, "required_permissions", None)
        if table:
            return ",".join(sorted(set(table.values())))
    return None
