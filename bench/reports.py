"""Report timings next to a hand-written SQL query of the same aggregate (DESIGN §7: each report
≤ 500 ms and ≤ 2× the hand-written query, over 1M invoices, 200k deals, 500k leads, PostgreSQL).

Seeds a throw-away PostgreSQL database with set-based SQL (``INSERT … SELECT generate_series``,
``setseed(--seed)`` so the same figures come back every run): ``--invoices`` issued invoices
over two years (a tenth in USD at a stored rate; 2 % partly credited by a credit note),
payments on 60 % of them (a fifth of those partial), ``--deals`` deals (open, won, lost; a third
made from a lead) and ``--leads`` leads (eight sources, 80 % answered); records are created on
their issue or receipt day, as in real use. Then times each report,
best of ``--repeat`` runs, next to a hand-written SQL query of the same aggregate, and checks
that both give the same figures.

Usage: python bench/reports.py [--invoices 1000000] [--deals 200000] [--leads 500000]
                               [--seed 7] [--repeat 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import PG_ADMIN_URL, ScratchDatabase, setup_django  # noqa: E402

AS_OF = dt.date(2025, 6, 30)
PERIOD = (dt.date(2025, 6, 1), dt.date(2025, 6, 30))
CONTACTS = 5000

SEED_SQL = [
    # Contacts and invoices: the draws of each invoice in one temporary table.
    """
    INSERT INTO crm_contact (id, created_at, updated_at, first_name, last_name, email,
                             email_normalized, phone, title, custom, notes)
    SELECT md5('c' || i)::uuid, now(), now(), 'C' || i, 'Bench', 'c' || i || '@bench.example',
           'c' || i || '@bench.example', '', '', '{}', ''
    FROM generate_series(0, %(contacts)s - 1) i
    """,
    """
    CREATE TEMP TABLE draws AS
    SELECT n,
           %(as_of)s::date - (random() * 720)::int AS issued,
           round((50 + random() * 4950)::numeric, 2) AS net,
           random() < 0.1 AS usd,
           random() AS pay, random() AS partial, (random() * 90)::int AS pay_after,
           random() AS credit, (n %% %(contacts)s) AS contact
    FROM generate_series(1, %(invoices)s) n
    """,
    """
    INSERT INTO billing_invoice (
        id, created_at, updated_at, document_type, kind, number, status, contact_id, currency,
        locale, payment_terms, buyer_reference, notes, discount_percent, prepaid_amount,
        credit_reason, source, lines_total, allowance_total, net_total, tax_total, gross_total,
        payable_total, tax_breakdown, base_currency, seller, buyer, amount_paid, amount_credited,
        amount_due, sent_count, view_count, issue_date, due_date, exchange_rate, issued_at)
    SELECT md5('i' || n)::uuid, issued::timestamptz, issued::timestamptz, 'invoice', 'standard',
           'INV-B-' || lpad(n::text, 8, '0'), 'issued', md5('c' || contact)::uuid,
           CASE WHEN usd THEN 'USD' ELSE 'GBP' END, '', '', '', '', 0, 0, '', '',
           net, 0, net, round(net * 0.2, 2), net + round(net * 0.2, 2),
           net + round(net * 0.2, 2), '[]', 'GBP', '{}', '{}', 0, 0, net + round(net * 0.2, 2),
           0, 0, issued, issued + 30, CASE WHEN usd THEN 0.79 ELSE 1 END, issued::timestamptz
    FROM draws
    """,
    # Credit notes for 2 %: half of the invoice, applied to it on its own issue date + 10.
    """
    INSERT INTO billing_invoice (
        id, created_at, updated_at, document_type, kind, number, status, contact_id, currency,
        locale, payment_terms, buyer_reference, notes, discount_percent, prepaid_amount,
        credit_reason, source, lines_total, allowance_total, net_total, tax_total, gross_total,
        payable_total, tax_breakdown, base_currency, seller, buyer, amount_paid, amount_credited,
        amount_due, sent_count, view_count, issue_date, exchange_rate, corrects_id, issued_at)
    SELECT md5('cn' || n)::uuid, LEAST(issued + 10, %(as_of)s::date)::timestamptz,
           LEAST(issued + 10, %(as_of)s::date)::timestamptz, 'credit_note', 'standard',
           'CN-B-' || lpad(n::text, 8, '0'), 'issued', md5('c' || contact)::uuid,
           CASE WHEN usd THEN 'USD' ELSE 'GBP' END, '', '', '', '', 0, 0, 'bench', '',
           round(net / 2, 2), 0, round(net / 2, 2), round(round(net / 2, 2) * 0.2, 2),
           round(net / 2, 2) + round(round(net / 2, 2) * 0.2, 2),
           round(net / 2, 2) + round(round(net / 2, 2) * 0.2, 2), '[]', 'GBP', '{}', '{}',
           0, 0, 0, 0, 0, LEAST(issued + 10, %(as_of)s::date),
           CASE WHEN usd THEN 0.79 ELSE 1 END, md5('i' || n)::uuid, issued::timestamptz
    FROM draws WHERE credit < 0.02
    """,
    """
    INSERT INTO billing_allocation (invoice_id, credit_note_id, kind, amount, created_at)
    SELECT md5('i' || n)::uuid, md5('cn' || n)::uuid, 'credit_note',
           round(net / 2, 2) + round(round(net / 2, 2) * 0.2, 2), now()
    FROM draws WHERE credit < 0.02
    """,
    """
    UPDATE billing_invoice i
    SET amount_credited = round(d.net / 2, 2) + round(round(d.net / 2, 2) * 0.2, 2),
        amount_due = i.gross_total - round(d.net / 2, 2) - round(round(d.net / 2, 2) * 0.2, 2)
    FROM draws d WHERE d.credit < 0.02 AND i.id = md5('i' || d.n)::uuid
    """,
    # Payments for 60 % (a fifth of them half), never on credited invoices, received 0–90 days
    # after the issue — those that would arrive after AS_OF have not arrived yet (the invoice
    # is still open), rather than all landing on AS_OF (a spike of 45 days' receipts).
    """
    CREATE TEMP TABLE paid AS
    SELECT n, contact, usd, issued + pay_after AS received,
           CASE WHEN partial < 0.2 THEN round((net + round(net * 0.2, 2)) / 2, 2)
                ELSE net + round(net * 0.2, 2) END AS amount,
           partial >= 0.2 AS full_payment
    FROM draws WHERE pay < 0.6 AND credit >= 0.02 AND issued + pay_after <= %(as_of)s::date
    """,
    """
    INSERT INTO billing_payment (id, created_at, updated_at, contact_id, currency, amount,
        received_on, method, reference, notes, status, failure_reason, gateway,
        gateway_reference, amount_allocated, amount_refunded, invoice_id, exchange_rate,
        base_amount)
    SELECT md5('p' || n)::uuid, received::timestamptz, received::timestamptz,
           md5('c' || contact)::uuid,
           CASE WHEN usd THEN 'USD' ELSE 'GBP' END, amount, received, 'bank_transfer', '', '',
           'succeeded', '', 'manual', '', amount, 0, md5('i' || n)::uuid,
           CASE WHEN usd THEN 0.79 ELSE 1 END,
           CASE WHEN usd THEN round(amount * 0.79, 2) ELSE amount END
    FROM paid
    """,
    """
    INSERT INTO billing_allocation (invoice_id, payment_id, kind, amount, created_at)
    SELECT md5('i' || n)::uuid, md5('p' || n)::uuid, 'payment', amount, now() FROM paid
    """,
    """
    UPDATE billing_invoice i
    SET amount_paid = p.amount, amount_due = i.gross_total - p.amount,
        status = CASE WHEN p.full_payment THEN 'paid' ELSE 'partially_paid' END,
        paid_at = CASE WHEN p.full_payment THEN p.received::timestamptz END
    FROM paid p WHERE i.id = md5('i' || p.n)::uuid
    """,
    # Leads: eight sources, 80 % answered (seconds to hours), five-minute SLA.
    """
    INSERT INTO intake_lead (id, created_at, updated_at, contact_id, source_id, channel, status,
        status_reason, first_name, last_name, email, phone, company_name, website, title,
        message, utm, referrer, custom, external_id, score, received_at, matched_on,
        contact_created, first_response_at, sla_due_at, owner_id, tier, qualification)
    SELECT md5('l' || n)::uuid, now(), now(), md5('c' || (n %% %(contacts)s))::uuid,
           (SELECT id FROM intake_leadsource ORDER BY id OFFSET (n %% 8) LIMIT 1), 'form',
           (ARRAY['new', 'contacted', 'qualified', 'converted', 'rejected', 'nurturing'])
               [1 + (random() * 5)::int],
           '', 'L' || n, 'Bench', 'l' || n || '@bench.example', '', '', '', '', '', '{}', '',
           '{}', '', 0, received, '', false,
           CASE WHEN random() < 0.8 THEN received + (random() ^ 3 * 7200) * interval '1 second'
           END,
           received + interval '5 minutes',
           (SELECT id FROM core_user ORDER BY id OFFSET (n %% 10) LIMIT 1), '', '{}'
    FROM (SELECT n, %(as_of)s::timestamptz - random() * interval '730 days' AS received
          FROM generate_series(1, %(leads)s) n) l
    """,
    # Deals: 60 % open, 25 % won, 15 % lost; a third from a lead.
    """
    INSERT INTO sales_deal (id, created_at, updated_at, title, pipeline_id, stage_id, status,
        value, currency, lost_note, stage_entered_at, last_activity_at, source, notes,
        expected_close_date, closed_at, owner_id, lead_id, qualified_at, lost_reason_id)
    SELECT md5('d' || n)::uuid, created, created, 'Deal ' || n, s.pipeline_id, s.id, status,
           round((500 + random() * 49500)::numeric, 2),
           CASE WHEN random() < 0.1 THEN 'EUR' ELSE 'GBP' END, '', created, created, '', '',
           %(as_of)s::date + (random() * 210)::int - 30,
           CASE WHEN status <> 'open' THEN created + random() * interval '60 days' END,
           (SELECT id FROM core_user ORDER BY id OFFSET (n %% 10) LIMIT 1),
           CASE WHEN n %% 3 = 0 THEN md5('l' || n)::uuid END,
           created,
           CASE WHEN status = 'lost'
                THEN (SELECT id FROM sales_lostreason ORDER BY id OFFSET (n %% 3) LIMIT 1) END
    FROM (SELECT n, %(as_of)s::timestamptz - random() * interval '700 days' AS created,
                 CASE WHEN r < 0.6 THEN 'open' WHEN r < 0.85 THEN 'won' ELSE 'lost' END
                     AS status,
                 1 + (n %% 5) AS position
          FROM (SELECT n, random() AS r FROM generate_series(1, %(deals)s) n) x) d
    JOIN LATERAL (SELECT id, pipeline_id FROM sales_stage
                  ORDER BY position OFFSET d.position - 1 LIMIT 1) s ON true
    """,
    # What autovacuum does soon after a bulk load: statistics, and the visibility map that lets
    # the reports' covering indexes answer without reading the table.
    "VACUUM ANALYZE",
]

HAND_SQL = {
    "aging": """
        SELECT CASE WHEN %(as_of)s::date - i.due_date <= 0 THEN 'current'
                    WHEN %(as_of)s::date - i.due_date <= 30 THEN '1_30'
                    WHEN %(as_of)s::date - i.due_date <= 60 THEN '31_60'
                    WHEN %(as_of)s::date - i.due_date <= 90 THEN '61_90'
                    ELSE 'over_90' END,
               SUM(CASE WHEN i.currency = 'GBP' THEN i.payable_total - COALESCE(s.settled, 0)
                        ELSE ROUND((i.payable_total - COALESCE(s.settled, 0)) * i.exchange_rate, 2)
                   END)
        FROM billing_invoice i
        LEFT JOIN (SELECT a.invoice_id, SUM(a.amount) AS settled
                   FROM billing_allocation a
                   LEFT JOIN billing_payment p ON p.id = a.payment_id
                   LEFT JOIN billing_invoice c ON c.id = a.credit_note_id
                   WHERE p.received_on <= %(as_of)s OR c.issue_date <= %(as_of)s
                   GROUP BY a.invoice_id) s ON s.invoice_id = i.id
        WHERE i.document_type = 'invoice' AND i.status <> 'draft'
          AND i.issue_date <= %(as_of)s AND i.payable_total - COALESCE(s.settled, 0) > 0
        GROUP BY 1""",
    "aging_now": """
        SELECT CASE WHEN %(as_of)s::date - due_date <= 0 THEN 'current'
                    WHEN %(as_of)s::date - due_date <= 30 THEN '1_30'
                    WHEN %(as_of)s::date - due_date <= 60 THEN '31_60'
                    WHEN %(as_of)s::date - due_date <= 90 THEN '61_90'
                    ELSE 'over_90' END,
               SUM(CASE WHEN currency = 'GBP' THEN amount_due
                        ELSE ROUND(amount_due * exchange_rate, 2) END)
        FROM billing_invoice
        WHERE document_type = 'invoice' AND status <> 'draft' AND issue_date <= %(as_of)s
          AND amount_due > 0
        GROUP BY 1""",
    "daily_sales": """
        SELECT issue_date,
               SUM(CASE WHEN document_type = 'credit_note' THEN -1 ELSE 1 END
                   * CASE WHEN currency = 'GBP' THEN gross_total
                          ELSE ROUND(gross_total * exchange_rate, 2) END)
        FROM billing_invoice
        WHERE status <> 'draft' AND issue_date BETWEEN %(start)s AND %(as_of)s
        GROUP BY issue_date""",
    "billing": """
        SELECT (SELECT SUM(CASE WHEN document_type = 'credit_note' THEN -1 ELSE 1 END
                           * CASE WHEN currency = 'GBP' THEN gross_total
                                  ELSE ROUND(gross_total * exchange_rate, 2) END)
                FROM billing_invoice
                WHERE status <> 'draft' AND issue_date BETWEEN %(p0)s AND %(p1)s),
               (SELECT SUM(base_amount) FROM billing_payment
                WHERE status = 'succeeded' AND received_on BETWEEN %(p0)s AND %(p1)s)""",
    "leads": """
        SELECT s.slug, COUNT(*), COUNT(l.first_response_at),
               percentile_disc(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
                   l.first_response_at - l.received_at)),
               percentile_disc(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM
                   l.first_response_at - l.received_at)),
               COUNT(*) FILTER (WHERE l.first_response_at - l.received_at <= interval '5 min'),
               COUNT(*) FILTER (WHERE l.sla_breached_at IS NOT NULL
                                   OR l.first_response_at > l.sla_due_at
                                   OR (l.first_response_at IS NULL AND l.sla_due_at < now())),
               COUNT(*) FILTER (WHERE l.status IN ('qualified', 'converted')),
               COUNT(d.id), COUNT(d.id) FILTER (WHERE d.status = 'won')
        FROM intake_lead l JOIN intake_leadsource s ON s.id = l.source_id
        LEFT JOIN sales_deal d ON d.lead_id = l.id
        WHERE l.received_at >= %(since)s AND l.received_at < %(until)s
        GROUP BY ROLLUP (s.slug)""",
    "sales": """
        SELECT to_char(expected_close_date, 'YYYY-MM'), d.currency, COUNT(*), SUM(d.value),
               SUM(ROUND(d.value * s.probability / 100, 2))
        FROM sales_deal d JOIN sales_stage s ON s.id = d.stage_id
        WHERE d.status = 'open' GROUP BY 1, 2
        UNION ALL
        SELECT d.status, d.currency, COUNT(*), SUM(d.value),
               AVG(EXTRACT(EPOCH FROM d.closed_at - d.created_at))
        FROM sales_deal d
        WHERE d.closed_at >= %(since)s AND d.closed_at < %(until)s GROUP BY 1, 2""",
    "forecast": """
        WITH open AS (
            SELECT contact_id, due_date,
                   CASE WHEN currency = 'GBP' THEN amount_due
                        ELSE ROUND(amount_due * exchange_rate, 2) END AS amount
            FROM billing_invoice
            WHERE document_type = 'invoice' AND status <> 'draft'
              AND issue_date <= %(as_of)s AND amount_due > 0),
        late AS (
            SELECT contact_id, AVG(paid_at::date - due_date) AS days
            FROM (SELECT contact_id, paid_at, due_date, ROW_NUMBER() OVER (
                      PARTITION BY contact_id ORDER BY paid_at DESC) AS k
                  FROM billing_invoice WHERE document_type = 'invoice'
                    AND paid_at < %(as_of)s AND due_date IS NOT NULL) h
            WHERE k <= 50 GROUP BY contact_id)
        SELECT GREATEST(o.due_date + COALESCE(ROUND(l.days)::int, 0), %(as_of)s::date),
               SUM(o.amount)
        FROM open o LEFT JOIN late l USING (contact_id) GROUP BY 1""",
}


def seed(args) -> None:
    from django.db import connection

    from throughline.core.models import Organization, User

    org = Organization.current()
    org.base_currency = "GBP"
    org.save()
    for i in range(10):
        User.objects.create_user(f"u{i}@bench.example", None, role="sales")
    params = {
        "as_of": AS_OF,
        "contacts": CONTACTS,
        "invoices": args.invoices,
        "deals": args.deals,
        "leads": args.leads,
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(args.seed % 1000) / 1000])
        for statement in SEED_SQL:
            t0 = time.perf_counter()
            cursor.execute(statement, params)
            label = " ".join(statement.split()[:3])
            print(f"  {label[:40]:40} {time.perf_counter() - t0:6.1f} s", flush=True)


def best_ms(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return min(times), result


def hand(name: str, **params):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute(HAND_SQL[name], params)
            return cursor.fetchall()

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--leads", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--keep-db", metavar="NAME", help="keep the seeded database under NAME and reuse it"
    )
    parser.add_argument("--only", help="time only the reports whose name contains this")
    args = parser.parse_args()
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001 - any reason PostgreSQL is not there
        print(f"reports bench needs PostgreSQL ({PG_ADMIN_URL}): {exc}; skipped")
        return 0
    with (
        tempfile.TemporaryDirectory() as var,
        ScratchDatabase("postgres", Path(var), keep=args.keep_db) as db,
    ):
        setup_django(db.env)
        import time_machine

        from throughline.reports.aging import aging
        from throughline.reports.common import start_of_day
        from throughline.reports.dso import dso
        from throughline.reports.forecast import forecast
        from throughline.reports.kpis.billing import billing_kpis
        from throughline.reports.kpis.filters import Filters
        from throughline.reports.kpis.leads import lead_kpis
        from throughline.reports.kpis.sales import sales_kpis

        t0 = time.perf_counter()
        if db.existed:
            print(f"reusing the seeded database {db.name}")
        else:
            try:
                seed(args)
            except BaseException:
                db.keep = None  # half-seeded: not reused
                raise
            print(
                f"seeded {args.invoices} invoices, {args.deals} deals, {args.leads} leads "
                f"in {time.perf_counter() - t0:.1f} s"
            )
        period = Filters(*PERIOD)
        window = {"since": start_of_day(PERIOD[0]), "until": start_of_day(AS_OF)}
        start = AS_OF - dt.timedelta(days=729)
        cases = [
            ("aging", lambda: aging(AS_OF), hand("aging_now", as_of=AS_OF)),
            (
                "aging (past)",
                lambda: aging(AS_OF - dt.timedelta(days=1)),
                hand("aging", as_of=AS_OF - dt.timedelta(days=1)),
            ),
            (
                "dso",
                lambda: dso(AS_OF, 90),
                _both(hand("aging", as_of=AS_OF), hand("daily_sales", start=start, as_of=AS_OF)),
            ),
            (
                "kpis.billing",
                lambda: billing_kpis(period),
                hand("billing", p0=PERIOD[0], p1=PERIOD[1]),
            ),
            ("kpis.leads", lambda: lead_kpis(period), hand("leads", **window)),
            ("kpis.sales", lambda: sales_kpis(period), hand("sales", **window)),
            ("forecast", lambda: forecast(AS_OF, 90), hand("forecast", as_of=AS_OF)),
        ]
        print(f"{'report':14} {'report ms':>10} {'SQL ms':>8} {'ratio':>6}  target ≤ 500 ms, ≤ 2×")
        with time_machine.travel(dt.datetime.combine(AS_OF, dt.time(12), tzinfo=dt.UTC)):
            results = {}
            for name, report, sql in cases:
                if args.only and args.only not in name:
                    continue
                report_ms, result = best_ms(report, args.repeat)
                sql_ms, sql_rows = best_ms(sql, args.repeat)
                results[name] = (result, sql_rows)
                ok = "ok" if report_ms <= 500 and report_ms <= 2 * sql_ms else "MISSED"
                print(
                    f"{name:14} {report_ms:10.0f} {sql_ms:8.0f} {report_ms / sql_ms:6.2f}  {ok}",
                    flush=True,
                )
        for name in ("aging", "aging (past)"):
            if name not in results:
                continue
            report, rows = results[name]
            same = all(
                report["buckets"][k] == dict(rows).get(k, Decimal(0)) for k in report["buckets"]
            )
            print(f"{name} figures equal to the hand-written query: {same}")
    return 0


def _both(first, second):
    def run():
        return first(), second()

    return run


if __name__ == "__main__":
    sys.exit(main())
