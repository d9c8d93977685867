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
    "leads.view": "See leads, their sources and possible duplicates",
    "leads.edit": "Enter, answer, reject and merge leads",
    "settings.view": "See the organization's settings",
    "settings.manage": "Change the organization's settings and custom fields",
    "users.manage": "Invite users, change roles, require two-factor",
    "audit.view": "Read the audit log",
    "jobs.manage": "See failed jobs and retry them",
    "api.tokens": "Create and revoke own API tokens",
    "automation.view": "See workflows, sequences, their runs and statistics; own notifications",
    "automation.manage": "Build, import, switch on/off and retry workflows; edit sequences, enrol",
    "integrations.view": "See integration health, webhook endpoints and their delivery log",
    "integrations.manage": "Add, change and disable webhook endpoints, rotate secrets, replay",
    "sales.view": "See deals, proposals, the catalogue and proposal templates",
    "sales.edit": "Create and change deals and proposals, send proposals",
    "sales.approve": "Approve or reject proposals that need internal approval",
    "catalogue.manage": "Create and change catalogue products and services",
    "templates.manage": "Create and edit proposal templates (draft versions)",
    "templates.approve": "Approve proposal template versions for use",
    "billing.view": "See invoices, credit notes and payments",
    "billing.edit": "Create and change draft invoices",
    "billing.issue": "Issue, send and credit invoices (credit notes)",
    "billing.payments": "Record payments and refunds, apply client credit",
    "signing.view": "See contracts, their signers' progress and the evidence trail",
    "signing.send": "Make contracts from accepted proposals, send them for signature, void them",
    "signing.manage": "Contract templates (edit, approve) and the signing certificate settings",
    "reports.view": "See dashboards and reports (KPIs, AR aging, DSO, forecast)",
    "reports.export": "Export reports as CSV",
    "delivery.view": "See projects, milestones, checklists, shared files and project templates",
    "delivery.edit": "Run projects: kick-off, milestones and QA, checklists, files, closing",
    "delivery.manage": "Create and edit project templates and the delivery settings",
    "routing.manage": "Change lead assignment rules, teams, fallback owner and escalation",
    "reports.review": "Tick weekly review items as reviewed, start this week's review",
    "reports.spend": "Enter marketing spend per lead source (cost per lead and per won deal)",
}

_ALL = frozenset(PERMISSIONS)

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL,
    Role.SALES: frozenset(
        {"crm.view", "crm.edit", "crm.export", "settings.view", "api.tokens"}
        | {"leads.view", "leads.edit"}
        | {"sales.view", "sales.edit"}
    ),
    Role.DELIVERY: frozenset(
        {"crm.view", "crm.edit", "settings.view", "api.tokens", "sales.view"} | {"leads.view"}
    ),
    Role.BILLING: frozenset(
        {"crm.view", "crm.edit", "crm.export", "settings.view", "api.tokens", "sales.view"}
        | {"leads.view"}
    ),
    Role.VIEWER: frozenset({"crm.view", "settings.view", "sales.view", "leads.view"}),
}
ROLE_PERMISSIONS.update({r: p | {"automation.view"} for r, p in ROLE_PERMISSIONS.items()})
ROLE_PERMISSIONS.update({r: p | {"billing.view"} for r, p in ROLE_PERMISSIONS.items()})
ROLE_PERMISSIONS[Role.BILLING] |= {"billing.edit", "billing.issue", "billing.payments"}
ROLE_PERMISSIONS.update({r: p | {"signing.view"} for r, p in ROLE_PERMISSIONS.items()})
ROLE_PERMISSIONS[Role.SALES] |= {"signing.send"}
ROLE_PERMISSIONS[Role.SALES] |= {"reports.view"}
ROLE_PERMISSIONS[Role.BILLING] |= {"reports.view", "reports.export"}
ROLE_PERMISSIONS.update({r: p | {"delivery.view"} for r, p in ROLE_PERMISSIONS.items()})
ROLE_PERMISSIONS[Role.DELIVERY] |= {"delivery.edit", "delivery.manage"}
ROLE_PERMISSIONS[Role.SALES] |= {"reports.review"}
ROLE_PERMISSIONS[Role.BILLING] |= {"reports.review"}


def role_has(role: str, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise KeyError(f"Unknown permission {permission!r}")
    return permission in ROLE_PERMISSIONS.get(role, frozenset())
