"""Invoices issued per second: the whole issue path, on SQLite and PostgreSQL.

An issue is: lock the draft, recompute the figures, freeze the parties, build the CII XML and
run the EN 16931 Schematron on it (Saxon, in-process), take the next number under the counter's
row lock, save, audit entry (hash chain), domain event, archive job enqueued — one transaction.

Prints, per database:
- sequential: one issuer, invoices/s and latency p50/p99;
- concurrent: N threads (each its own connection) issuing at once (PostgreSQL only; SQLite
  has one writer), invoices/s, and a check that the numbers have no gap and no duplicate;
- the parts: the Schematron run alone, and rendering one Factur-X PDF (done later, by a job).

Usage: python bench/billing.py [--invoices 300] [--threads 4] [--db sqlite|postgres|both]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import ScratchDatabase, setup_django, summary  # noqa: E402

LINES = [
    {
        "description": "Consulting day",
        "quantity": "2.5",
        "unit_price": "800",
        "tax_rate": "20",
        "discount": "10",
    },
    {"description": "Travel", "quantity": "1", "unit_price": "123.45", "tax_rate": "20"},
    {"description": "Book", "quantity": "3", "unit_price": "12.3333", "tax_rate": "5.5"},
]


def prepare(count: int):
    from throughline.billing.services import invoicing
    from throughline.core.actor import Actor
    from throughline.core.models import Organization
    from throughline.crm import services as crm

    org = Organization.current()
    org.legal_name, org.country, org.vat_id = "Bench Ltd", "GB", "GB123456789"
    org.address_line1, org.city, org.postal_code = "1 Bench Street", "London", "EC1A 1BB"
    org.base_currency, org.iban, org.bic = "GBP", "GB33BUKB20201555555555", "BUKBGB22"
    org.save()
    actor = Actor.cli()
    company = crm.create_company(actor, name="Client SA", country="FR", vat_id="FR40303265045")
    contact = crm.create_contact(
        actor, first_name="Ada", email=f"ada+{time.time_ns()}@example.com", company=company
    )
    return actor, [
        invoicing.create_invoice(actor, contact=contact, currency="GBP", lines=LINES)
        for _ in range(count)
    ]


def issue_sequential(actor, drafts) -> tuple[float, list[float]]:
    from throughline.billing.services import invoicing

    latencies = []
    started = time.perf_counter()
    for draft in drafts:
        t0 = time.perf_counter()
        invoicing.issue_invoice(actor, draft)
        latencies.append((time.perf_counter() - t0) * 1000)
    return time.perf_counter() - started, latencies


def issue_concurrent(actor, drafts, threads: int) -> float:
    from django.db import connection

    from throughline.billing.services import invoicing

    chunks = [drafts[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def run(chunk):
        try:
            barrier.wait()
            for draft in chunk:
                invoicing.issue_invoice(actor, draft)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    if errors:
        raise SystemExit(f"issuer failed: {errors[0]!r}")
    return time.perf_counter() - started


def check_numbers() -> str:
    from throughline.billing.models import Invoice

    numbers = sorted(Invoice.objects.exclude(number="").values_list("number", flat=True))
    year = numbers[0].split("-")[1]
    expected = [f"INV-{year}-{n:05d}" for n in range(1, len(numbers) + 1)]
    if numbers != expected:
        raise SystemExit("numbering broken: gap or duplicate")
    return f"{len(numbers)} numbers, no gap, no duplicate"


def parts(actor, invoice) -> str:
    from throughline.billing.documents import cii, schematron
    from throughline.billing.services import documents

    data = documents.document_data(invoice)
    xml = cii.cii_xml(data)
    rules = []
    for _ in range(50):
        t0 = time.perf_counter()
        schematron.check(xml)
        rules.append((time.perf_counter() - t0) * 1000)
    pdfs = []
    for _ in range(5):
        t0 = time.perf_counter()
        documents.render_facturx(invoice)
        pdfs.append((time.perf_counter() - t0) * 1000)
    return f"schematron {summary(rules)}; Factur-X PDF {summary(pdfs)}"


def bench(kind: str, count: int, threads: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(kind, Path(tmp)) as db:
        setup_django(db.env)
        from throughline.billing.documents import schematron

        t0 = time.perf_counter()
        schematron.warm_up("cii")
        print(
            f"[{kind}] schematron compiled in {time.perf_counter() - t0:.2f} s (once per process)"
        )
        actor, drafts = prepare(count)
        elapsed, latencies = issue_sequential(actor, drafts)
        print(
            f"[{kind}] sequential: {count} invoices in {elapsed:.2f} s = "
            f"{count / elapsed:.1f} invoices/s ({summary(latencies)})"
        )
        if kind == "postgres" and threads > 1:
            _, more = prepare(count)
            elapsed = issue_concurrent(actor, more, threads)
            print(
                f"[{kind}] {threads} concurrent issuers: {count} invoices in {elapsed:.2f} s = "
                f"{count / elapsed:.1f} invoices/s"
            )
        print(f"[{kind}] {check_numbers()}")
        print(f"[{kind}] parts: {parts(actor, drafts[0])}")
        from django.db import connections

        connections.close_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    # Each database gets its own process: Django is set up once per process.
    if len(kinds) > 1:
        import subprocess

        for kind in kinds:
            if kind == "postgres" and not _postgres_reachable():
                print("[postgres] skipped: no server at BENCH_PG_ADMIN_URL")
                continue
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--db",
                    kind,
                    "--invoices",
                    str(args.invoices),
                    "--threads",
                    str(args.threads),
                ],
                check=True,
            )
        return
    print(f"== billing bench {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    bench(kinds[0], args.invoices, args.threads)


def _postgres_reachable() -> bool:
    try:
        import psycopg

        from bench._common import PG_ADMIN_URL

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except Exception:
        return False


if __name__ == "__main__":
    main()
