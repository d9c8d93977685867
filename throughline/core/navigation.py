"""The staff navigation, in the order of the lead-to-cash flow.

Each app adds its entries to ``NAV`` when it lands; an entry shows only to roles that hold
its permission.
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    icon: str = ""


NAV: list[NavItem] = [
    NavItem("Home", "home", "crm.view", "⌂"),
    NavItem("Contacts", "crm:contact_list", "crm.view", "☺"),
    NavItem("Companies", "crm:company_list", "crm.view", "▦"),
    NavItem("Tasks", "crm:task_list", "crm.view", "✓"),
    NavItem("Settings", "core:settings", "settings.view", "⚙"),
    NavItem("Users", "core:user_list", "users.manage", "👥"),
    NavItem("Audit log", "core:audit_log", "audit.view", "⛬"),
    NavItem("Jobs", "core:failed_jobs", "jobs.manage", "⟳"),
]


def nav_for(user, path: str) -> list[dict]:
    items = []
    for item in NAV:
        if not user.can(item.permission):
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue  # the area has not landed yet
        active = path == url if url == "/" else path.startswith(url)
        items.append({"label": item.label, "url": url, "icon": item.icon, "active": active})
    return items
