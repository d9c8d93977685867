"""API permission check: every view declares ``required_permissions`` per action."""

from __future__ import annotations

from rest_framework import permissions

from throughline.core.access import record_denied
from throughline.core.roles import PERMISSIONS


def required_permission(view, request) -> str | None:
    """The permission code a view demands for this request.

    ``required_permissions`` maps an action name (``list``, ``create``…) or an HTTP method
    (``GET``, ``POST``…) to a code; ``"*"`` is the fallback.
    """
    table = getattr(view, "required_permissions", None)
    if not table:
        return None
    action = getattr(view, "action", None)
    for key in (action, request.method, "*"):
        if key and key in table:
            return table[key]
    return None


class HasRolePermission(permissions.BasePermission):
    message = "Your role does not allow this."

    def has_permission(self, request, view):
        if getattr(view, "throughline_public", False):
            return True
        user = request.user
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        code = required_permission(view, request)
        if code is None:
            # A view that forgot to declare is closed, not open.
            return False
        if code == "login":
            return True
        if code not in PERMISSIONS:
            raise KeyError(f"Unknown permission {code!r}")
        if user.can(code):
            return True
        record_denied(request, code, "api")
        self.message = f"Your role does not allow: {PERMISSIONS[code]}."
        return False
