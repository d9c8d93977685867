"""The staff navigation, in the order of the lead-to-cash flow.

Each app adds its entries to ``NAV`` when it lands; an entry shows only to roles that hold
its permission, and only once its URL exists. ``section`` groups entries under a heading in
the sidebar (consecutive entries with the same section form one group).
"""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    permission: str
    icon: str = ""
    section: str = ""


NAV: list[NavItem] = [
    NavItem("Home", "home", "crm.view", "⌂"),
    NavItem("Leads", "intake:inbox", "leads.view", "✉"),
    NavItem("Intake forms", "intake_channels:form_list", "leads.edit", "✎"),
    NavItem("Import", "intake_channels:import_list", "leads.edit", "⇪"),
    NavItem("Lead scoring", "intake_scoring:settings", "settings.view", "★"),
    NavItem("Contacts", "crm:contact_list", "crm.view", "☺", "Customers"),
    NavItem("Companies", "crm:company_list", "crm.view", "▦", "Customers"),
    NavItem("Tasks", "crm:task_list", "crm.view", "✓", "Customers"),
    NavItem("Deals", "sales:deal_board", "sales.view", "◧", "Sales"),
    NavItem("Proposals", "sales:proposal_list", "sales.view", "✎", "Sales"),
    NavItem("Contracts", "signing:contract_list", "signing.view", "✍", "Sales"),
    NavItem("Catalogue", "sales:catalogue_list", "sales.view", "▤", "Sales"),
    NavItem("Projects", "delivery:project_list", "delivery.view", "◎", "Delivery"),
    NavItem("Project templates", "delivery:template_list", "delivery.manage", "▧", "Delivery"),
    NavItem("Invoices", "billing:invoice_list", "billing.view", "▣", "Billing"),
    NavItem("Payments", "billing:payment_list", "billing.view", "◈", "Billing"),
    NavItem("Bank statements", "billing:statement_list", "billing.payments", "⇆", "Billing"),
    NavItem("Reminders", "billing:dunning_policy", "billing.view", "⏰", "Billing"),
    NavItem("Billing settings", "billing:settings", "billing.view", "⚙", "Billing"),
    NavItem("Reports", "reports:dashboard", "reports.view", "▥", "Reports"),
    NavItem("Automation", "automation:workflow_list", "automation.view", "↯", "Automation"),
    NavItem("Settings", "core:settings", "settings.view", "⚙", "Administration"),
    NavItem("Users", "core:user_list", "users.manage", "☷", "Administration"),
    NavItem("Audit log", "core:audit_log", "audit.view", "≡", "Administration"),
    NavItem("Jobs", "core:failed_jobs", "jobs.manage", "⟳", "Administration"),
    NavItem("Integrations", "integrations:health", "integrations.view", "⇄", "Administration"),
    NavItem("Booking", "intake_booking:availability", "leads.edit", "◷", "Lead routing"),
    NavItem("Routing", "intake_routing:rule_list", "routing.manage", "⇆", "Lead routing"),
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
        items.append(
            {
                "label": item.label,
                "url": url,
                "icon": item.icon,
                "active": active,
                "section": item.section,
            }
        )
    return items
