"""Report timings next to a hand-written SQL query of the same aggregate (DESIGN §7: each report
≤ 500 ms and ≤ 2× the hand-written query, over 1M invoices, PostgreSQL).

Seeds (``--seed``) a scratch PostgreSQL database with ``--invoices`` issued invoices (a tenth in
USD at a stored rate), payments on about 60 % of them (some partial), bulk-inserted with the ORM
(bench data only: the issue path itself is measured by bench/billing.py). Then times, best of
``--repeat`` runs: the AR aging report (``reports.aging.aging``) and the SQL below, and DSO.

Not yet seeded: deals and leads (the KPI and forecast reports are not timed yet).

Usage: python bench/reports.py [--invoices 100000] [--seed 7] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import PG_ADMIN_URL, ScratchDatabase, setup_django  # noqa: E402

AS_OF = dt.date(2025, 6, 30)

AGING_SQL = """
SELECT CASE
         WHEN %(as_of)s::date - COALESCE(i.due_date, i.issue_date) <= 0 THEN 'current'
         WHEN %(as_of)s::date - COALESCE(i.due_date, i.issue_date) <= 30 THEN '1_30'
         WHEN %(as_of)s::date - COALESCE(i.due_date, i.issue_date) <= 60 THEN '31_60'
         WHEN %(as_of)s::date - COALESCE(i.due_date, i.issue_date) <= 90 THEN '61_90'
         ELSE 'over_90' END AS bucket,
       SUM(ROUND((i.payable_total - COALESCE(s.settled, 0))
                 * CASE WHEN i.currency = %(base)s THEN 1 ELSE i.exchange_rate END, 2))
FROM billing_invoice i
LEFT JOIN (
  SELECT a.invoice_id, SUM(a.amount) AS settled
  FROM billing_allocation a
  LEFT JOIN billing_payment p ON p.id = a.payment_id
  LEFT JOIN billing_invoice c ON c.id = a.credit_note_id
  WHERE p.received_on <= %(as_of)s OR c.issue_date <= %(as_of)s
  GROUP BY a.invoice_id
) s ON s.invoice_id = i.id
WHERE i.document_type = 'invoice' AND i.status <> 'draft' AND i.issue_date <= %(as_of)s
  AND i.payable_total - COALESCE(s.settled, 0) > 0
  AND (i.currency = %(base)s OR i.exchange_rate IS NOT NULL)
GROUP BY 1
"""


def seed(count: int, rng: random.Random) -> None:
    from django.db import transaction

    from throughline.billing.models import Allocation, Invoice, Payment
    from throughline.core.models import Organization
    from throughline.crm.models import Contact

    org = Organization.current()
    org.base_currency = "GBP"
    org.save()
    contacts = Contact.objects.bulk_create(
        [
            Contact(first_name=f"C{i}", last_name="Bench", email=f"c{i}@bench.example")
            for i in range(500)
        ]
    )
    batch = 20000
    for start in range(0, count, batch):
        invoices, payments, allocations = [], [], []
        for n in range(start, min(start + batch, count)):
            issued = AS_OF - dt.timedelta(days=rng.randint(0, 720))
            gross = Decimal(rng.randint(5000, 500000)) / 100
            usd = rng.random() < 0.1
            invoice = Invoice(
                id=uuid.uuid4(),
                number=f"INV-B-{n:08d}",
                status=Invoice.Status.ISSUED,
                contact=rng.choice(contacts),
                currency="USD" if usd else "GBP",
                exchange_rate=Decimal("0.79") if usd else Decimal(1),
                base_currency="GBP",
                issue_date=issued,
                due_date=issued + dt.timedelta(days=30),
                net_total=gross,
                gross_total=gross,
                payable_total=gross,
                amount_due=gross,
            )
            invoices.append(invoice)
            if rng.random() < 0.6:
                amount = gross if rng.random() < 0.8 else (gross / 2).quantize(Decimal("0.01"))
                payment = Payment(
                    id=uuid.uuid4(),
                    contact=invoice.contact,
                    currency=invoice.currency,
                    amount=amount,
                    amount_allocated=amount,
                    received_on=issued + dt.timedelta(days=rng.randint(0, 90)),
                    method=Payment.Method.BANK_TRANSFER,
                )
                payments.append(payment)
                allocations.append(
                    Allocation(invoice=invoice, payment=payment, kind="payment", amount=amount)
                )
        with transaction.atomic():
            Invoice.objects.bulk_create(invoices, batch_size=5000)
            Payment.objects.bulk_create(payments, batch_size=5000)
            Allocation.objects.bulk_create(allocations, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def best_ms(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any reason PostgreSQL is not there
        print(f"reports bench needs PostgreSQL ({PG_ADMIN_URL}): {exc}; skipped")
        return 0
    with tempfile.TemporaryDirectory() as var, ScratchDatabase("postgres", Path(var)) as db:
        setup_django(db.env)
        from django.db import connection

        from throughline.reports.aging import aging
        from throughline.reports.dso import dso

        t0 = time.perf_counter()
        seed(args.invoices, random.Random(args.seed))
        print(f"seeded {args.invoices} invoices in {time.perf_counter() - t0:.1f} s")

        def hand():
            with connection.cursor() as cursor:
                cursor.execute(AGING_SQL, {"as_of": AS_OF, "base": "GBP"})
                return dict(cursor.fetchall())

        report_ms, report = best_ms(lambda: aging(AS_OF), args.repeat)
        sql_ms, sql = best_ms(hand, args.repeat)
        same = all(report["buckets"][k] == sql.get(k, Decimal(0)) for k in report["buckets"])
        print(
            f"aging:  report {report_ms:.0f} ms, hand-written SQL {sql_ms:.0f} ms, "
            f"ratio {report_ms / sql_ms:.2f}× (target ≤ 500 ms, ≤ 2×); same figures: {same}"
        )
        dso_ms, _ = best_ms(lambda: dso(AS_OF, 90), args.repeat)
        print(f"dso:    report {dso_ms:.0f} ms (aging + 730 days of sales)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
