"""Accounts-receivable aging at a date, in the base currency.

Definition (also on the page and in docs/REPORTS.md):

* An invoice counts when it is an invoice (not a credit note), was issued (not a draft) and its
  issue date is on or before ``as_of`` — whatever its status today (an invoice paid after
  ``as_of`` was still open on ``as_of``).
* Its open amount at ``as_of`` = amount payable (gross, less deposits already invoiced and paid)
  − payments allocated to it that were received on or before ``as_of`` − credit notes applied
  to it that were issued on or before ``as_of``. Refund reversals count on their payment's date.
* The open amount is converted to the base currency at the invoice's own stored exchange rate
  and rounded (half up) to the base currency's minor unit; buckets are sums of those rounded
  amounts.
* Days past due = ``as_of`` − due date. ``current``: not yet due (≤ 0); ``1_30``, ``31_60``,
  ``61_90``, ``over_90``: days past due, both ends included.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from throughline.core import money
from throughline.reports.common import base_currency, installed, start_of_day

BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")
BUCKET_LABELS = {
    "current": "Current",
    "1_30": "1–30 days",
    "31_60": "31–60 days",
    "61_90": "61–90 days",
    "over_90": "Over 90 days",
}


def bucket_for(days_past_due: int) -> str:
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "1_30"
    if days_past_due <= 60:
        return "31_60"
    if days_past_due <= 90:
        return "61_90"
    return "over_90"


@dataclass(frozen=True)
class OpenInvoice:
    id: object
    number: str
    contact_id: object
    currency: str
    issue_date: dt.date
    due_date: dt.date
    open_amount: Decimal  # in the invoice's currency
    base_amount: Decimal | None  # in the base currency; None: foreign without a rate
    days_past_due: int

    @property
    def bucket(self) -> str:
        return bucket_for(self.days_past_due)


def open_invoices(as_of: dt.date, base: str | None = None) -> list[OpenInvoice]:
    """Every invoice with something open on ``as_of`` (one query)."""
    if not installed("billing"):
        return []
    from throughline.billing.models import DocumentType, Invoice

    base = base or base_currency()
    settled = Q(allocations__payment__received_on__lte=as_of) | Q(
        allocations__credit_note__issue_date__lte=as_of
    )
    rows = (
        Invoice.objects.filter(document_type=DocumentType.INVOICE, issue_date__lte=as_of)
        .exclude(status=Invoice.Status.DRAFT)
        .annotate(
            settled=Coalesce(
                Sum("allocations__amount", filter=settled),
                Value(Decimal(0)),
                output_field=DecimalField(max_digits=18, decimal_places=2),
            )
        )
        .annotate(open_amount=F("payable_total") - F("settled"))
        .filter(open_amount__gt=0)  # HAVING: settled invoices never leave the database
        .values_list(
            "id",
            "number",
            "contact_id",
            "currency",
            "issue_date",
            "due_date",
            "payable_total",
            "settled",
            "exchange_rate",
        )
        .order_by("due_date", "number")
    )
    result = []
    for pk, number, contact_id, currency, issued, due, payable, settled_sum, rate in rows:
        open_amount = money.quantize(payable - settled_sum, currency)
        if open_amount <= 0:
            continue
        due = due or issued
        if currency == base:
            base_amount = open_amount
        elif rate is None:
            base_amount = None
        else:
            base_amount = money.quantize(open_amount * rate, base)
        result.append(
            OpenInvoice(
                id=pk,
                number=number,
                contact_id=contact_id,
                currency=currency,
                issue_date=issued,
                due_date=due,
                open_amount=open_amount,
                base_amount=base_amount,
                days_past_due=(as_of - due).days,
            )
        )
    return result


# Aggregates in the database (bench/reports.py: 1M invoices). Each invoice's open amount is
# converted and rounded before summing, as the definition says; buckets by due-date ranges (no
# date arithmetic, so the same SQL runs on PostgreSQL and SQLite).
#
# Open amounts at a past date re-sum the allocations dated up to it. When nothing was received
# or credited after ``as_of`` (the dashboard's usual "today"), that sum is billing's maintained
# ``amount_due`` (kept equal to payable − allocations by billing.services.settlement), read
# from the invoice row without touching allocations.
OPEN_AS_OF = """
  SELECT inv.contact_id, inv.currency, inv.exchange_rate,
         COALESCE(inv.due_date, inv.issue_date) AS due,
         inv.payable_total - COALESCE(s.settled, 0) AS open_amount
  FROM billing_invoice inv
  LEFT JOIN (
    SELECT a.invoice_id, SUM(a.amount) AS settled
    FROM billing_allocation a
    LEFT JOIN billing_payment p ON p.id = a.payment_id
    LEFT JOIN billing_invoice c ON c.id = a.credit_note_id
    WHERE p.received_on <= %s OR c.issue_date <= %s
    GROUP BY a.invoice_id
  ) s ON s.invoice_id = inv.id
  WHERE inv.document_type = 'invoice' AND inv.status <> 'draft' AND inv.issue_date <= %s
"""
OPEN_NOW = """
  SELECT inv.contact_id, inv.currency, inv.exchange_rate,
         COALESCE(inv.due_date, inv.issue_date) AS due, inv.amount_due AS open_amount
  FROM billing_invoice inv
  WHERE inv.document_type = 'invoice' AND inv.status <> 'draft' AND inv.issue_date <= %s
    AND inv.amount_due > 0
"""
AGING_SQL = """
SELECT CASE WHEN i.currency <> %s AND i.exchange_rate IS NULL THEN 'unconverted'
            WHEN i.due >= %s THEN 'current'
            WHEN i.due >= %s THEN '1_30'
            WHEN i.due >= %s THEN '31_60'
            WHEN i.due >= %s THEN '61_90'
            ELSE 'over_90' END AS bucket,
       COUNT(*),
       SUM(CASE WHEN i.currency = %s THEN i.open_amount
                ELSE ROUND(i.open_amount * i.exchange_rate, {places}) END)
FROM ({rows}) i
WHERE ROUND(i.open_amount, 6) > 0
GROUP BY 1
"""
# The forecast's open invoices: per client and due date (one item each), base currency.
OPEN_BY_CLIENT_SQL = """
SELECT {contact}, i.due, COUNT(*),
       {total}(CASE WHEN i.currency = %s THEN i.open_amount
                ELSE ROUND(i.open_amount * i.exchange_rate, {places}) END){cast}
FROM ({rows}) i
WHERE ROUND(i.open_amount, 6) > 0 AND (i.currency = %s OR i.exchange_rate IS NOT NULL)
GROUP BY i.contact_id, i.due
ORDER BY i.due, i.contact_id
"""
# PostgreSQL, for the forecast: days to due instead of the date, and the invoices whose timing
# no longer depends on their due date folded into one row per client — overdue ones of a client
# with too little history (paid "today" on the terms: 0) and those later than the client has
# ever been (spread: FOLDED_SPREAD). ``l``: per client, paid invoices in the history and the
# latest it ever paid.
OPEN_BY_CLIENT_FOLDED_SQL = """
SELECT x.contact_id::text, x.due_in, COUNT(*), SUM(x.amount)::float8
FROM (
  SELECT i.contact_id,
         CASE WHEN COALESCE(l.n, 0) >= %s AND i.due - %s::date < -l.latest THEN %s
              WHEN COALESCE(l.n, 0) < %s AND i.due < %s::date THEN 0
              ELSE i.due - %s::date END AS due_in,
         CASE WHEN i.currency = %s THEN i.open_amount
              ELSE ROUND(i.open_amount * i.exchange_rate, {places}) END AS amount
  FROM ({rows}) i
  LEFT JOIN unnest(%s::uuid[], %s::int[], %s::int[]) AS l(contact_id, n, latest)
         ON l.contact_id = i.contact_id
  WHERE ROUND(i.open_amount, 6) > 0 AND (i.currency = %s OR i.exchange_rate IS NOT NULL)
) x
GROUP BY x.contact_id, x.due_in
ORDER BY x.due_in, x.contact_id
"""
FOLDED_SPREAD = -1_000_000
# Grouping a few hundred thousand rows: enough memory that PostgreSQL's hash aggregates and
# window sorts stay off disk (SET LOCAL: this transaction only).
REPORT_WORK_MEM = "64MB"


def settled_through(as_of: dt.date) -> bool:
    """Nothing was received or credited after ``as_of``: open amounts are today's.

    Billing refuses payments dated more than a day after they are recorded, so a payment
    received after ``as_of`` was recorded on ``as_of`` − 1 or later: the search stays within
    the indexed ``created_at`` of the last days."""
    from throughline.billing.models import DocumentType, Invoice, Payment

    recorded_since = start_of_day(as_of - dt.timedelta(days=2))
    return not (
        Payment.objects.filter(created_at__gte=recorded_since, received_on__gt=as_of).exists()
        or Invoice.objects.filter(document_type=DocumentType.CREDIT_NOTE, issue_date__gt=as_of)
        .exclude(status=Invoice.Status.DRAFT)
        .exists()
    )


def _open_rows(as_of: dt.date, fast: bool | None = None) -> tuple[str, list]:
    if fast is None:
        fast = settled_through(as_of)
    return (OPEN_NOW, [as_of]) if fast else (OPEN_AS_OF, [as_of, as_of, as_of])


def open_by_client_folded(
    as_of: dt.date, base: str, history: dict, min_history: int, fast: bool | None = None
) -> list[tuple]:
    """PostgreSQL: as ``open_by_client``, with the rows whose timing no longer depends on the
    due date folded per client (see OPEN_BY_CLIENT_FOLDED_SQL); ``history``: contact id (text)
    → sorted days late."""
    from django.db import connection

    rows_sql, rows_params = _open_rows(as_of, fast)
    contacts = list(history)
    sql = OPEN_BY_CLIENT_FOLDED_SQL.format(places=money.minor_unit(base), rows=rows_sql)
    params = [min_history, as_of, FOLDED_SPREAD, min_history, as_of, as_of, base]
    params += rows_params
    params += [contacts, [len(history[c]) for c in contacts], [history[c][-1] for c in contacts]]
    params += [base]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{REPORT_WORK_MEM}'")
        cursor.execute(sql, params)
        return cursor.fetchall()


def open_by_client(as_of: dt.date, base: str, fast: bool | None = None) -> list[tuple]:
    """``(contact id as text, days from as_of to due, invoices, open amount in base as a
    float)`` of the invoices open on ``as_of`` (foreign ones without a stored rate left out),
    one GROUP BY in the database. Floats and text: the forecast computes in numpy and rounds
    its results to the minor unit; hundreds of thousands of rows come back."""
    from django.db import connection

    rows_sql, rows_params = _open_rows(as_of, fast)
    postgres = connection.vendor == "postgresql"
    sql = OPEN_BY_CLIENT_SQL.format(
        places=money.minor_unit(base),
        rows=rows_sql,
        contact="i.contact_id::text" if postgres else "i.contact_id",
        total="SUM",
        cast="::float8" if postgres else "",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [base, *rows_params, base])
        rows = cursor.fetchall()
    if postgres:
        return [(c, (due - as_of).days, n, total) for c, due, n, total in rows]
    out = []
    for contact_id, due, count, total in rows:  # SQLite: dates and UUIDs as text
        due = dt.date.fromisoformat(due) if isinstance(due, str) else due
        out.append((str(uuid.UUID(str(contact_id))), (due - as_of).days, count, float(total)))
    return out


def bucket_sums(as_of: dt.date, base: str, fast: bool | None = None) -> tuple[dict, dict]:
    from django.db import connection

    day = dt.timedelta(days=1)
    rows_sql, rows_params = _open_rows(as_of, fast)
    params = [base, as_of, as_of - 30 * day, as_of - 60 * day, as_of - 90 * day, base]
    sums, counts = {}, {}
    with connection.cursor() as cursor:
        cursor.execute(
            AGING_SQL.format(places=money.minor_unit(base), rows=rows_sql),
            [*params, *rows_params],
        )
        for bucket, count, total in cursor.fetchall():
            counts[bucket] = count
            if bucket != "unconverted":
                sums[bucket] = money.quantize(Decimal(str(total)), base)
    return sums, counts


def aging(as_of: dt.date) -> dict:
    """``{as_of, currency, buckets, total, counts, unconverted}``; amounts are Decimals here."""
    base = base_currency()
    zero = money.quantize(0, base)
    buckets = dict.fromkeys(BUCKETS, zero)
    counts = dict.fromkeys(BUCKETS, 0)
    unconverted: list[OpenInvoice] = []
    if installed("billing"):
        sums, numbers = bucket_sums(as_of, base)
        buckets.update(sums)
        counts.update({k: v for k, v in numbers.items() if k in counts})
        if numbers.get("unconverted"):  # foreign invoices without a rate: list them
            unconverted = [r for r in open_invoices(as_of, base) if r.base_amount is None]
    return {
        "as_of": as_of,
        "currency": base,
        "buckets": buckets,
        "counts": counts,
        "total": sum(buckets.values(), zero),
        "unconverted": unconverted,
    }


def ar_total(as_of: dt.date) -> Decimal:
    return aging(as_of)["total"]
