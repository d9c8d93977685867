"""Roles and the permission matrix: the one place that says who may do what.

Every view, API route, export and CLI command declares a permission code from ``PERMISSIONS``;
``role_has`` answers for a role. The matrix is data so a test can walk it exhaustively.
"""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    SALES = "sales", "Sales"
    DELIVERY = "delivery", "Delivery"
    BILLING = "billing", "Billing"
    VIEWER = "viewer", "Viewer"


# code -> description. Codes are "<area>.<verb>".
PERMISSIONS: dict[str, str] = {
    "crm.view": "See contacts, companies, activities and tasks",
    "crm.edit": "Create and change contacts, companies, activities and tasks",
    "crm.delete": "Delete contacts and companies",
    "crm.export": "Export CRM records",
    "settings.view": "See the organization's settings",
    "settings.manage": "Change the organization's settings and custom fields",
    "users.manage": "Invite users, change roles, require two-factor",
    "audit.view": "Read the audit log",
    "jobs.manage": "See failed jobs and retry them",
    "api.tokens": "Create and revoke own API tokens",
}

_ALL = frozenset(PERMISSIONS)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL,
    Role.SALES: frozenset({"crm.view", "crm.edit", "crm.export", "settings.view", "api.tokens"}),
    Role.DELIVERY: frozenset({"crm.view", "crm.edit", "settings.view", "api.tokens"}),
    Role.BILLING: frozenset({"crm.view", "crm.edit", "crm.export", "settings.view", "api.tokens"}),
    Role.VIEWER: frozenset({"crm.view", "settings.view"}),
}


def role_has(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}")
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
