"""Billing per client, in each invoice's own currency, both tables aggregated in SQL.

* Average days to pay: invoices (not credit notes) paid in full in the period (``paid_at``,
  organization time): mean whole days from the issue date to the day paid, per client and
  currency, with the invoices counted and their gross total.
* Overdue by client: invoices open today with a due date before today (``Invoice.objects
  .overdue``): per client and currency, how many, the amount due and the oldest due date,
  largest amount first.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, DateField, DurationField, F, Min, Sum
from django.db.models.functions import TruncDate

from throughline.core import money
from throughline.reports.common import installed, org_today, org_tz
from throughline.reports.kpis.filters import Filters


def _names(rows: list[dict]) -> None:
    """Each row's ``client``: the contact as the CRM shows it (one query for all rows)."""
    from throughline.crm.models import Contact

    contacts = Contact.objects.in_bulk([r["contact_id"] for r in rows])
    for r in rows:
        r["client"] = str(contacts.get(r["contact_id"]) or "—")
        r["contact_id"] = str(r["contact_id"])


def days_to_pay(filters: Filters) -> list[dict]:
    from throughline.billing.models import Invoice
    from throughline.billing.models.invoices import DocumentType

    rows = (
        Invoice.objects.filter(
            document_type=DocumentType.INVOICE,
            status=Invoice.Status.PAID,
            paid_at__gte=filters.since,
            paid_at__lt=filters.until,
        )
        .annotate(paid_day=TruncDate("paid_at", tzinfo=org_tz(), output_field=DateField()))
        .annotate(took=F("paid_day") - F("issue_date"))
        .order_by()
        .values("contact_id", "currency")
        .annotate(
            invoices=Count("id"),
            gross=Sum("gross_total"),
            average=Avg("took", output_field=DurationField()),
        )
    )
    out = [
        {
            "contact_id": r["contact_id"],
            "currency": r["currency"],
            "invoices": r["invoices"],
            "gross": money.quantize(r["gross"], r["currency"]),
            "average_days": round(_days(r["average"]), 1),
        }
        for r in rows
    ]
    _names(out)
    return sorted(out, key=lambda r: (-r["average_days"], r["client"], r["currency"]))


def _days(value) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 86400
    return float(value) / 86_400_000_000  # SQLite returns microseconds


def overdue_by_client(today: dt.date | None = None) -> list[dict]:
    from throughline.billing.models import Invoice

    rows = (
        Invoice.objects.overdue(today or org_today())
        .order_by()
        .values("contact_id", "currency")
        .annotate(invoices=Count("id"), amount=Sum("amount_due"), oldest=Min("due_date"))
    )
    out = [
        {
            "contact_id": r["contact_id"],
            "currency": r["currency"],
            "invoices": r["invoices"],
            "amount_due": money.quantize(r["amount"], r["currency"]),
            "oldest_due": r["oldest"],
        }
        for r in rows
    ]
    _names(out)
    return sorted(out, key=lambda r: (-r["amount_due"], r["client"], r["currency"]))


def client_tables(filters: Filters) -> dict | None:
    if not installed("billing"):
        return None
    from throughline.billing.models import Invoice

    if not Invoice.objects.exclude(status=Invoice.Status.DRAFT).exists():
        return None
    return {"days_to_pay": days_to_pay(filters), "overdue": overdue_by_client()}
