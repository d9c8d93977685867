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
import itertools
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from throughline.core import money
from throughline.reports.common import (
    base_currency,
    fetch_many,
    installed,
    side_by_side,
    start_of_day,
)

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
# converted and rounded before summing, as the definition says; the same SQL runs on
# PostgreSQL and SQLite.
#
# Open amounts at a past date: billing keeps ``amount_due`` equal to payable − every allocation
# (billing.services.settlement), so the open amount at ``as_of`` is today's ``amount_due`` plus
# what was allocated by payments received, or credit notes issued, after ``as_of`` — a few rows
# for a recent date, found through the indexes on the payment's receipt date and the credit
# note's issue date. An invoice counts when that open amount is positive: open today, or
# settled (partly) since. When nothing was received or credited after ``as_of`` (the
# dashboard's usual "today"), the open amount is ``amount_due`` alone. (Rows one per invoice:
# the forecast's; aging's buckets take today's rows and a correction, below.)
OPEN_AS_OF = """
  WITH s AS ({later})
  SELECT inv.contact_id, inv.currency, inv.exchange_rate,
         COALESCE(inv.due_date, inv.issue_date) AS due,
         inv.amount_due + COALESCE(s.later, 0) AS open_amount
  FROM billing_invoice inv
  LEFT JOIN s ON s.invoice_id = inv.id
  WHERE inv.document_type = 'invoice' AND inv.status <> 'draft' AND inv.issue_date <= %s
    AND inv.amount_due > 0
  UNION ALL
  SELECT inv.contact_id, inv.currency, inv.exchange_rate,
         COALESCE(inv.due_date, inv.issue_date) AS due, s.later AS open_amount
  FROM s JOIN billing_invoice inv ON inv.id = s.invoice_id
  WHERE inv.document_type = 'invoice' AND inv.status <> 'draft' AND inv.issue_date <= %s
    AND inv.amount_due = 0
"""
# Allocated after ``as_of``, per invoice (positional parameters: as_of twice): from the
# payments received and the credit notes issued after it, each through its own index.
SETTLED_LATER = """
    SELECT x.invoice_id, SUM(x.amount) AS later
    FROM (
      SELECT a.invoice_id, a.amount
      FROM billing_payment p JOIN billing_allocation a ON a.payment_id = p.id
      WHERE p.received_on > %s
      UNION ALL
      SELECT a.invoice_id, a.amount
      FROM billing_invoice c JOIN billing_allocation a ON a.credit_note_id = c.id
      WHERE c.document_type = 'credit_note' AND c.issue_date > %s
    ) x
    GROUP BY x.invoice_id
"""
OPEN_NOW = """
  SELECT inv.contact_id, inv.currency, inv.exchange_rate,
         COALESCE(inv.due_date, inv.issue_date) AS due, inv.amount_due AS open_amount
  FROM billing_invoice inv
  WHERE inv.document_type = 'invoice' AND inv.status <> 'draft' AND inv.issue_date <= %s
    AND inv.amount_due > 0
"""
# Aging's sums per due day (bucketed in Python): ``(due, converted, invoices, base-currency
# amounts, rounded conversions of foreign ones)`` — ``converted`` false for foreign invoices
# without a stored rate, which are counted only. Grouped by the due-date column itself, not an
# expression of it: PostgreSQL then knows there are a few hundred groups and aggregates in
# parallel. Invoices without a due date (billing no longer issues them) come back as one group
# without a day, and only then are they read again by issue date (``day``).
OPEN_NOW_BY_DAY = """
  SELECT inv.{day}, inv.currency = %(base)s OR inv.exchange_rate IS NOT NULL, COUNT(*),
         SUM(inv.amount_due) FILTER (WHERE inv.currency = %(base)s),
         SUM(ROUND(inv.amount_due * inv.exchange_rate, {places}))
           FILTER (WHERE inv.currency <> %(base)s)
  FROM billing_invoice inv
  WHERE inv.document_type = 'invoice' AND inv.status <> 'draft' AND inv.issue_date <= %(as_of)s
    AND inv.amount_due > 0 {only}
  GROUP BY 1, 2
"""
# Aging at a past date: today's open amounts at that date (OPEN_NOW_BY_DAY) corrected by the
# invoices settled after it, each read once — it counts with its open amount then (+1)
# instead of today's (−1; nothing when nothing is open today). A few rows for a recent date.
SETTLED_LATER_BY_DAY = """
  WITH s AS ({later})
  SELECT COALESCE(i.due_date, i.issue_date), i.currency = %(base)s OR i.exchange_rate IS NOT NULL,
         SUM(i.weight), SUM(i.weight * i.open_amount) FILTER (WHERE i.currency = %(base)s),
         SUM(i.weight * ROUND(i.open_amount * i.exchange_rate, {{places}}))
           FILTER (WHERE i.currency <> %(base)s)
  FROM (
    SELECT inv.due_date, inv.issue_date, inv.currency, inv.exchange_rate, v.weight,
           CASE WHEN v.weight = 1 THEN inv.amount_due + s.later ELSE inv.amount_due END
             AS open_amount
    FROM s JOIN billing_invoice inv ON inv.id = s.invoice_id
    CROSS JOIN (SELECT 1 AS weight UNION ALL SELECT -1) v
    WHERE inv.document_type = 'invoice' AND inv.status <> 'draft'
      AND inv.issue_date <= %(as_of)s AND inv.amount_due >= 0
  ) i
  WHERE ROUND(i.open_amount, 6) > 0
  GROUP BY 1, 2
""".format(later=SETTLED_LATER.replace("%s", "%(as_of)s"))  # noqa: S608 - constant SQL
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


def open_rows(as_of: dt.date, fast: bool | None = None) -> tuple[str, list]:
    if fast is None:
        fast = settled_through(as_of)
    if fast:
        return OPEN_NOW, [as_of]
    return OPEN_AS_OF.format(later=SETTLED_LATER), [as_of] * 4


def open_by_client(as_of: dt.date, base: str, fast: bool | None = None) -> list[tuple]:
    """``(contact id as text, days from as_of to due, invoices, open amount in base as a
    float)`` of the invoices open on ``as_of`` (foreign ones without a stored rate left out),
    one GROUP BY in the database. Floats and text: the forecast computes in numpy and rounds
    its results to the minor unit; hundreds of thousands of rows come back."""
    from django.db import connection

    rows_sql, rows_params = open_rows(as_of, fast)
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
    """Sums (base currency, Decimal) and counts per bucket, ``unconverted`` counted only. At a
    past date, today's amounts and the correction are read side by side."""
    if fast is None:
        fast = settled_through(as_of)
    places = money.minor_unit(base)
    parts = [OPEN_NOW_BY_DAY.format(day="due_date", only="", places=places)]
    if not fast:
        parts.append(SETTLED_LATER_BY_DAY.format(places=places))
    params = {"base": base, "as_of": as_of}
    rows = list(
        itertools.chain.from_iterable(
            side_by_side(*(partial(fetch_many, sql, params) for sql in parts))
        )
    )
    if any(row[0] is None for row in rows):  # invoices without a due date: by issue date
        rows = [row for row in rows if row[0] is not None] + fetch_many(
            OPEN_NOW_BY_DAY.format(
                day="issue_date", only="AND inv.due_date IS NULL", places=places
            ),
            params,
        )
    totals, counts = {}, {}
    for due, converted, count, same, foreign in rows:
        if isinstance(due, str):  # SQLite
            due = dt.date.fromisoformat(due)
        bucket = bucket_for((as_of - due).days) if converted else "unconverted"
        counts[bucket] = counts.get(bucket, 0) + int(count)
        amount = Decimal(str(same or 0)) + Decimal(str(foreign or 0))
        totals[bucket] = totals.get(bucket, Decimal(0)) + amount
    counts = {k: n for k, n in counts.items() if n}
    sums = {k: money.quantize(v, base) for k, v in totals.items() if k in counts}
    sums.pop("unconverted", None)
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
