"""Demo data for billing: a few issued invoices and last week's bank statement, reconciled
(one payment matched by its invoice number, one suggested by amount and payer, the rest left
to do), so the invoice list and the reconciliation pages show real work."""

from __future__ import annotations

import datetime as dt

from throughline.billing.models import Invoice, StatementImport
from throughline.billing.services import invoicing, reconciliation
from throughline.billing.services.statements import import_statement
from throughline.core.demo import DemoContext, demo_section
from throughline.crm.models import Contact
from throughline.delivery.models import Project

# (key, days ago issued, the client's project title or None for any client, lines)
INVOICES = [
    ("brand-workshop", 38, None, [("Brand workshop (half day)", "1", "1200.00")]),
    ("deposit", 21, "Website project", [("Website project: 50% on signing", "1", "7640.00")]),
    ("care-1", 12, "Monthly care retainer", [("Care retainer, month 1", "1", "740.00")]),
    (
        "seo-audit",
        9,
        None,
        [("Technical SEO audit", "1", "1850.00"), ("Redirect map (hours)", "6", "95.00")],
    ),
]


def _clients() -> dict[str | None, list[Contact]]:
    """The clients of the demo projects by project title, and other clients with a company."""
    clients: dict[str | None, list[Contact]] = {}
    for project in Project.objects.select_related("contact").order_by("created_at"):
        for title in ("Website project", "Monthly care retainer"):
            if str(project).startswith(title):
                clients.setdefault(title, []).append(project.contact)
    taken = {c.company_id for group in clients.values() for c in group}
    others = (
        Contact.objects.filter(company__isnull=False, email__gt="")
        .exclude(company_id__in=taken)
        .order_by("created_at")
    )
    firsts: dict = {}
    for contact in others.select_related("company"):
        firsts.setdefault(contact.company_id, contact)
        if len(firsts) == 2:
            break
    clients[None] = list(firsts.values())
    return clients


def _invoices(ctx: DemoContext) -> list[Invoice]:
    billing = ctx.as_user(ctx.user("billing") or ctx.user("owner"))
    clients = _clients()
    others = iter(clients.get(None, []))
    made = []
    for key, days_ago, project_title, lines in INVOICES:
        source = f"demo:{key}"
        existing = Invoice.objects.filter(source=source).first()
        if existing is not None:
            made.append(existing)
            continue
        group = clients.get(project_title) if project_title else None
        contact = group[0] if group else next(others, None)
        if contact is None:
            continue
        issued_on = (ctx.now - dt.timedelta(days=days_ago)).astimezone(ctx.tz).date()
        invoice = invoicing.create_invoice(
            billing,
            contact=contact,
            currency="GBP",
            source=source,
            issue_date=issued_on,
            lines=[
                {"description": d, "quantity": q, "unit_price": p, "tax_rate": "20"}
                for d, q, p in lines
            ],
        )
        made.append(invoicing.issue_invoice(billing, invoice, today=issued_on))
        ctx.count("invoices")
    return made


def _statement_csv(ctx: DemoContext, invoices: list[Invoice]) -> bytes:
    """Last week's account activity: two clients paying, bank interest, two bills."""
    by_key = {inv.source.removeprefix("demo:"): inv for inv in invoices}
    day = (ctx.now.astimezone(ctx.tz) - dt.timedelta(days=2)).date()
    rent = f"Rent {day:%B}"
    rows = [(day - dt.timedelta(days=5), "-2450.00", "Chandlery Yard Estates", rent, "")]
    deposit, care = by_key.get("deposit"), by_key.get("care-1")
    if deposit is not None:
        payer = deposit.contact.company.name if deposit.contact.company else ""
        rows.append(
            (
                day - dt.timedelta(days=4),
                str(deposit.amount_due),
                (payer or str(deposit.contact)).upper(),
                f"{deposit.number} DEPOSIT",
                "FP-88213-01",
            )
        )
    rows.append((day - dt.timedelta(days=3), "-54.00", "Figma Ireland Ltd", "Subscription", ""))
    if care is not None:
        rows.append(
            (
                day - dt.timedelta(days=1),
                str(care.amount_due),
                str(care.contact).upper(),
                "WEBSITE CARE",
                "FP-90377-02",
            )
        )
    rows.append((day, "3.17", "Barclays", "Interest paid", ""))
    head = "Date,Amount,Currency,Payer,Details,Reference"
    body = [f'{d.isoformat()},{a},GBP,"{n}","{t}",{r}' for d, a, n, t, r in rows]
    return ("\n".join([head, *body]) + "\n").encode()


@demo_section("billing", order=60, has_data=lambda: Invoice.objects.exists())
def build_billing(ctx: DemoContext) -> None:
    invoices = _invoices(ctx)
    if StatementImport.objects.exists() or not invoices:
        return
    billing = ctx.as_user(ctx.user("billing") or ctx.user("owner"))
    statement = import_statement(
        billing,
        content=_statement_csv(ctx, invoices),
        filename="statement-business-current.csv",
        account="GB33BUKB20201555555555",
    )
    reconciliation.reconcile(billing, statement.lines.all(), send_receipts=False)
    ctx.count("bank statements")
