"""Bank reconciliation: 10k statement lines against 100k open invoices, on PostgreSQL.

Setup (not timed): 100k issued, open invoices over 2,000 clients, inserted in bulk (the issue
path is what bench/billing.py measures), and a CAMT.053 file of 10k credits written like a
bank's: 60% quote the invoice number and pay it exactly, 10% pay part of it, 10% pay two
invoices in one transfer, 10% give no number (amount and payer name only), 10% are noise.

Timed, in the same run and database:
- import: parsing the CAMT.053 file and storing the lines (with the de-duplication look-up);
- bare SQL join: ``statement lines JOIN open invoices ON number = reference`` — the floor any
  matcher is measured against (it finds only the exact-reference cases);
- matching: loading the open-invoice index and matching every line (no writes);
- reconcile: matching plus applying every confident match through ``record_payment``
  (payment, allocations, invoice status, audit entries, events), one transaction per line —
  on the first ``--apply-lines`` lines (default 1,000: the write path costs ~40 queries per
  payment, so all 10k would hold a shared 2-core machine for a quarter of an hour; pass
  ``--apply-lines 10000`` for all of them).
- undo: undoing ``--undo-lines`` of those matches (``undo_match``: payment reversed, invoices
  reopened, the line's suggestion recomputed from its own candidates, not the whole index).

Usage: python bench/reconcile.py [--invoices 100000] [--lines 10000] [--apply-lines 1000]
    [--undo-lines 100]
(PostgreSQL from DATABASE_URL when it is one, else BENCH_PG_ADMIN_URL; a throw-away database.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
    os.environ.setdefault("BENCH_PG_ADMIN_URL", os.environ["DATABASE_URL"])

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import ScratchDatabase, setup_django  # noqa: E402

TODAY = dt.datetime.now(dt.UTC).date()
SURNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]


def make_invoices(count: int, clients: int) -> list[tuple[str, str, Decimal]]:
    from throughline.billing.models import Invoice
    from throughline.crm.models import Contact

    rng = random.Random(7)
    contacts = Contact.objects.bulk_create(
        [Contact(first_name=f"Client{i}", last_name=rng.choice(SURNAMES)) for i in range(clients)],
        batch_size=2000,
    )
    now = dt.datetime.now(dt.UTC)
    rows, facts = [], []
    for n in range(1, count + 1):
        contact = contacts[n % clients]
        gross = Decimal(rng.randint(5_000, 500_000)) / 100
        number = f"INV-{TODAY.year}-{n:05d}"
        rows.append(
            Invoice(
                number=number,
                status=Invoice.Status.ISSUED,
                contact=contact,
                currency="EUR",
                issue_date=TODAY - dt.timedelta(days=40),
                due_date=TODAY - dt.timedelta(days=10),
                net_total=gross,
                gross_total=gross,
                payable_total=gross,
                amount_due=gross,
                buyer={"name": f"{contact.first_name} {contact.last_name} SARL"},
                issued_at=now,
            )
        )
        facts.append((number, f"{contact.first_name} {contact.last_name}", gross))
        if len(rows) == 5000:
            Invoice.objects.bulk_create(rows)
            rows = []
    Invoice.objects.bulk_create(rows)
    return facts


def camt_file(facts, lines: int, clients: int) -> bytes:
    rng = random.Random(11)
    picks = rng.sample(range(len(facts)), min(len(facts), lines))
    entries = []
    for i in range(lines):
        number, name, gross = facts[picks[i]]
        kind = i % 10
        reference, text, amount = number, f"Payment {number}", gross
        if kind == 7:  # two invoices of the same client in one transfer
            other_index = picks[i] + clients
            if other_index >= len(facts):
                other_index = picks[i] - clients
            other, _, other_gross = facts[other_index]
            amount, reference, text = gross + other_gross, "", f"{number} and {other}"
        elif kind == 6:  # partial
            amount = (gross / 2).quantize(Decimal("0.01"))
        elif kind == 8:  # no number: amount and name
            reference, text = "", "Thanks for the good work"
        elif kind == 9:  # noise
            reference, text, name = "", "Refund supplier", "Some Supplier Ltd"
            amount = Decimal(rng.randint(100, 9999)) / 100
        strd = f"<Strd><CdtrRefInf><Ref>{reference}</Ref></CdtrRefInf></Strd>" if reference else ""
        entries.append(
            f'<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
            f"<BookgDt><Dt>{TODAY - dt.timedelta(days=1)}</Dt></BookgDt>"
            f"<AcctSvcrRef>B{i}</AcctSvcrRef><NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{name}</Nm>"
            f"</Dbtr></RltdPties><RmtInf><Ustrd>{text}</Ustrd>{strd}</RmtInf></TxDtls>"
            "</NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>B</MsgId></GrpHdr><Stmt><Acct><Id><IBAN>FR7630006000011234567890189"
        f"</IBAN></Id></Acct>{''.join(entries)}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def bare_join() -> tuple[float, int]:
    """The join, run twice (the first warms the cache); the second is timed."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE billing_invoice; ANALYZE billing_statementline")
    for _ in range(2):
        t0 = time.perf_counter()
        found = _join(connection)
    return time.perf_counter() - t0, found


def _join(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.id, i.id, i.amount_due
            FROM billing_statementline l
            JOIN billing_invoice i ON i.number = l.reference
            WHERE l.amount > 0 AND i.document_type = 'invoice'
              AND i.status IN ('issued', 'partially_paid') AND i.amount_due > 0
            """
        )
        return len(cursor.fetchall())


def bench(invoices: int, lines: int, apply_lines: int, undo_lines: int = 100) -> None:
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase("postgres", Path(tmp)) as db:
        setup_django(db.env)
        from django.db import connections

        from throughline.billing.models import StatementLine
        from throughline.billing.services import reconciliation
        from throughline.billing.services.statements import import_statement
        from throughline.core.actor import Actor
        from throughline.core.models import Organization

        org = Organization.current()
        org.base_currency = "EUR"
        org.save()
        actor = Actor.cli()
        t0 = time.perf_counter()
        facts = make_invoices(invoices, clients=2000)
        content = camt_file(facts, lines, clients=2000)
        print(f"setup: {invoices} open invoices in {time.perf_counter() - t0:.1f} s (bulk)")

        t0 = time.perf_counter()
        statement = import_statement(actor, content=content, filename="bench.xml")
        took = time.perf_counter() - t0
        print(f"import: {statement.line_count} lines in {took:.2f} s = {lines / took:.0f} lines/s")

        join_s, joined = bare_join()
        print(
            f"bare SQL join on reference: {joined} lines found in {join_s * 1000:.0f} ms "
            f"= {lines / join_s:.0f} lines/s"
        )

        t0 = time.perf_counter()
        index = reconciliation.OpenInvoices.load()
        load_s = time.perf_counter() - t0
        outcome = {"auto": 0, "suggest": 0, "none": 0}
        for line in StatementLine.objects.filter(statement=statement).iterator(chunk_size=2000):
            match = reconciliation.match_line(line, index)
            if match is None or not match.plan:
                outcome["none"] += 1
            elif match.confidence >= reconciliation.AUTO_APPLY:
                outcome["auto"] += 1
            else:
                outcome["suggest"] += 1
        match_s = time.perf_counter() - t0
        loop_s = match_s - load_s
        print(
            f"matching {lines} lines, no writes: index of {len(index.by_number)} open invoices "
            f"loaded in {load_s:.2f} s, matching loop {loop_s:.2f} s = {lines / loop_s:.0f} "
            f"lines/s; with the load {lines / match_s:.0f} lines/s = {match_s / join_s:.1f}× the "
            f"bare join's time; {outcome}"
        )

        subset = list(
            StatementLine.objects.filter(statement=statement)
            .order_by("pk")
            .values_list("pk", flat=True)[:apply_lines]
        )
        t0 = time.perf_counter()
        result = reconciliation.reconcile(
            actor, StatementLine.objects.filter(pk__in=subset), send_receipts=False
        )
        full_s = time.perf_counter() - t0
        per_line_join = join_s / lines
        print(
            f"reconcile (match + record payments) of {len(subset)} lines: "
            f"{len(subset) / full_s:.0f} lines/s, {full_s / len(subset) / per_line_join:.0f}× "
            f"the bare join's time per line; matched {result.matched}, "
            f"suggested {result.suggested}, unmatched {result.unmatched}, "
            f"errors {len(result.errors)}"
        )

        matched = list(
            StatementLine.objects.filter(
                pk__in=subset, status=StatementLine.Status.MATCHED
            ).order_by("pk")[:undo_lines]
        )
        if matched:
            t0 = time.perf_counter()
            for line in matched:
                reconciliation.undo_match(actor, line)
            undo_s = time.perf_counter() - t0
            print(
                f"undo match of {len(matched)} matched lines (payment reversed, invoices "
                f"reopened, line re-suggested against its own candidates): "
                f"{undo_s / len(matched) * 1000:.1f} ms per line "
                f"(the full open-invoice index alone loads in {load_s * 1000:.0f} ms)"
            )
        connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--apply-lines", type=int, default=1_000)
    parser.add_argument("--undo-lines", type=int, default=100)
    args = parser.parse_args()
    print(f"== reconcile bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    try:
        import psycopg

        from bench._common import PG_ADMIN_URL

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            pass
    except Exception:
        print("[postgres] skipped: no server at BENCH_PG_ADMIN_URL / DATABASE_URL")
        return
    bench(args.invoices, args.lines, args.apply_lines, args.undo_lines)


if __name__ == "__main__":
    main()
