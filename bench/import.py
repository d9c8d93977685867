"""Bulk import (DESIGN §7: a 100k-row CSV against 1M contacts, deduplicated, ≤ 60 s).

Seeds N existing contacts (with their dedup blocking keys, as the app stores them) in a
scratch database, writes a CSV of R rows — mostly new people, some already known (by e-mail),
some repeated within the file, a few invalid — and runs the real import path in-process:
``csv_import.create_import`` → ``configure`` → ``check`` (dry run) → ``run`` (every row
through ``capture_lead``, "skip invalid rows", no acknowledgements). Prints the seconds of
each phase, rows/s, and the time a 100k-row import takes at that rate against the target.
Each phase stops after ``--budget`` seconds (so ``make bench`` ends) and the rate measured so
far is projected. Then the jobs the import left behind (scoring each batch, the handlers of
its events) run in-process as a worker would, and their time is printed beside the import's:
an import is not done before its leads are scored.

Usage: python bench/import.py [--contacts 1000000] [--rows 100000] [--db postgres|sqlite]
                              [--budget 300] [--keep-db NAME] [--profile FILE]

``--keep-db NAME`` (PostgreSQL) seeds the contacts once into a database kept under NAME; every
run then imports into a fresh copy of it (``CREATE DATABASE … TEMPLATE NAME``, dropped after),
so a run always starts from the same million contacts and never from the previous run's leads.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import ScratchDatabase, setup_django  # noqa: E402

FIRST = (
    "Ada Grace Alan Linus Barbara Margaret Edsger Donald Frances Tim Radia Ken Dennis Bjarne "
    "Guido John Hedy Katherine Dorothy Mary Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas "
    "Karl Lena Marta Nils Olga Paul Rosa Sven Tina Uwe Vera Walter Yara Zoe Amir Bianca Chen Dario "
    "Elif Farid Giulia Hana Ivan Jana Kofi Lucia Mateo Nora Omar Priya"
).split()
SYLLABLES = "ber cha dor el fen gan hol ist jan kor lam mer nov ost pra quin ros sta tor ul ven wil xan yor zel".split()
LAST = [
    a.capitalize() + b + c for a in SYLLABLES for b in SYLLABLES[:12] for c in ("", "son", "mann")
]
COMPANIES = [
    "Northwind",
    "Contoso",
    "Initech",
    "Globex",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Acme",
    "Tyrell",
]


def person(i: int) -> tuple[str, str, str, str]:
    """The i-th seeded contact (deterministic, so CSV rows can name known people)."""
    first, last = FIRST[(i * 7) % len(FIRST)], LAST[(i * 131 + i // 60) % len(LAST)]
    company = f"{COMPANIES[i % len(COMPANIES)]} {i % 5000}"
    return first, last, f"{first.lower()}.{last.lower()}.{i}@example{i % 97}.com", company


def seed_contacts(n: int) -> None:
    """Contacts and their blocking keys, bulk-loaded (COPY on PostgreSQL)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from throughline.crm.models import Contact
    from throughline.intake import dedup, matching
    from throughline.intake.models import ContactKey

    now = timezone.now()
    batch = 50_000
    orgs: dict[str, str] = {}
    started = time.perf_counter()
    for offset in range(0, n, batch):
        contacts, keys = [], []
        for i in range(offset, min(n, offset + batch)):
            first, last, email, _ = person(i)
            pk = uuid.uuid4()
            contacts.append((pk, first, last, email))
            names = matching.comparison_names(first, last)
            org = orgs.get(email.rpartition("@")[2])
            if org is None:  # as the app stores it; one per domain (the seeds have no company)
                org = orgs[email.rpartition("@")[2]] = dedup.org_signature(
                    dedup.Person(email=email)
                )
            keys.extend(
                (pk, key, *names, org) for key in matching.contact_keys(first, last, email, "")
            )
        with transaction.atomic():
            if connection.vendor == "postgresql":
                _copy_contacts(contacts, keys, now)
            else:
                Contact.objects.bulk_create(
                    [
                        Contact(id=pk, first_name=f, last_name=la, email=e, email_normalized=e)
                        for pk, f, la, e in contacts
                    ],
                    batch_size=5000,
                )
                ContactKey.objects.bulk_create(
                    [
                        ContactKey(contact_id=pk, key=k, first=f, last=la, org=o)
                        for pk, k, f, la, o in keys
                    ],
                    batch_size=10000,
                )
        print(f"\r  seeded {min(n, offset + batch):,} contacts", end="", flush=True)
    print(f" in {time.perf_counter() - started:.0f} s")


def _copy_contacts(contacts, keys, now) -> None:
    from django.db import connection

    contact_table = "crm_contact"
    key_table = "intake_contactkey"
    buffer = io.StringIO()
    for pk, first, last, email in contacts:
        buffer.write(
            f"{pk}\t{first}\t{last}\t{email}\t{email}\t\t\t{{}}\t\t{now.isoformat()}\t{now.isoformat()}\n"
        )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(
            f"COPY {contact_table} (id, first_name, last_name, email, email_normalized, phone, title, "
            "custom, notes, created_at, updated_at) FROM STDIN"
        ) as copy:
            copy.write(buffer.getvalue())
        buffer = io.StringIO()
        for pk, key, first, last, org in keys:
            buffer.write(f"{pk}\t{key}\t{first}\t{last}\t{org}\n")
        with raw.copy(f"COPY {key_table} (contact_id, key, first, last, org) FROM STDIN") as copy:
            copy.write(buffer.getvalue())


def make_csv(rows: int, contacts: int, rng: random.Random) -> tuple[bytes, dict[str, int]]:
    lines = ["First name;Last name;E-mail;Company;Notes"]
    mix = {"new": 0, "known": 0, "repeat": 0, "invalid": 0}
    emitted: list[str] = []
    for i in range(rows):
        roll = rng.random()
        if roll < 0.01:
            lines.append(f"Broken;Row {i};not-an-address@;X;")
            mix["invalid"] += 1
        elif roll < 0.03 and emitted:
            lines.append(rng.choice(emitted))
            mix["repeat"] += 1
        elif roll < 0.23 and contacts:
            first, last, email, company = person(rng.randrange(contacts))
            lines.append(f"{first};{last};{email.upper()};{company};Known person")
            mix["known"] += 1
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            line = f"{first};{last};{first.lower()}.{last.lower()}.new{i}@leads.example;{rng.choice(COMPANIES)} GmbH;Fair 2025"
            lines.append(line)
            emitted.append(line)
            mix["new"] += 1
    return ("\n".join(lines) + "\n").encode("latin-1", errors="replace"), mix


def _seed_once(kept: ScratchDatabase, contacts: int) -> None:
    """Seed the kept database unless it already holds the contacts (then say so)."""
    from django.db import connections

    from throughline.crm.models import Contact

    have = Contact.objects.count()
    if kept.existed and have == contacts:
        print(f"  reusing the seeded database {kept.name} ({have:,} contacts)")
        from django.db import connection

        with connection.cursor() as cursor:
            # A migration since the last run may have rewritten rows (quick when none did).
            cursor.execute("VACUUM ANALYZE")
    elif have:
        raise SystemExit(
            f"{kept.name} holds {have:,} contacts, not {contacts:,}: drop it or pick another name"
        )
    else:
        seed_contacts(contacts)
        from django.db import connection

        with connection.cursor() as cursor:
            # As autovacuum leaves a settled table: statistics, and the visibility map that
            # lets index-only scans skip the heap. Both travel with the copy.
            cursor.execute("VACUUM ANALYZE")
    connections.close_all()


def _copy_database(template: str, name: str) -> None:
    """Replace the scratch database ``name`` by a copy of ``template`` and point Django at it."""
    import psycopg
    from django.db import connections

    from bench._common import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    connections["default"].settings_dict["NAME"] = name


class OutOfTime(Exception):
    pass


def budgeted(seconds: float, counter: dict):
    """A progress callback that stops a phase after ``seconds`` (rows done so far are kept)."""
    started = time.perf_counter()

    def progress(done: int) -> None:
        counter["rows"] = done
        counter["seconds"] = time.perf_counter() - started
        if counter["seconds"] > seconds:
            raise OutOfTime

    return progress


def phase(name: str, fn, budget: float) -> tuple[float, int, bool, object]:
    """Run ``fn(progress)``; returns seconds, rows, whether it finished, and its result."""
    counter = {"rows": 0, "seconds": 0.0}
    started = time.perf_counter()
    try:
        result = fn(budgeted(budget, counter))
    except OutOfTime:
        return time.perf_counter() - started, counter["rows"], False, None
    return time.perf_counter() - started, counter["rows"], True, result


def followup(budget: float, rows: int) -> float:
    """Run the jobs the import of ``rows`` rows queued (as one worker would); print their cost."""
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from throughline.core.worker import Worker

    queued = dict(
        DBTaskResult.objects.ready()
        .values_list("task_path")
        .annotate(n=Count("id"))
        .values_list("task_path", "n")
    )
    total = sum(queued.values())
    kinds = ", ".join(f"{path.rsplit('.', 1)[-1]} {n:,}" for path, n in sorted(queued.items()))
    print(f"  jobs left by the import: {total:,} ({kinds})", flush=True)
    started, done = time.perf_counter(), 0
    while time.perf_counter() - started < budget:
        ran = Worker(
            exit_when_idle=True, sweeps=False, heartbeat_every=None, max_jobs=200, batch_size=50
        ).run()
        done += ran
        if ran == 0:
            break
    seconds = time.perf_counter() - started
    if not done:
        return 0.0
    projected = seconds * total / done * 100_000 / rows
    cut = "" if done >= total else f" (stopped after the {budget:.0f} s budget)"
    print(
        f"  follow-up jobs: {done:,} in {seconds:.1f} s = {done / seconds:,.0f} jobs/s{cut};"
        f" for 100,000 rows ≈ {projected:,.0f} s with one worker",
        flush=True,
    )
    return projected


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--budget",
        type=float,
        default=300,
        help="Stop each phase (dry run, run) after this many seconds and project the rest",
    )
    parser.add_argument(
        "--keep-db",
        metavar="NAME",
        help="PostgreSQL: seed the contacts once into NAME and import into a copy of it",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="write a cProfile of the run to FILE, and of the follow-up jobs to FILE.jobs",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(args.db, Path(tmp)) as db:
        env = {**db.env, "MEDIA_ROOT": str(Path(tmp) / "media")}
        if args.keep_db and args.db == "postgres":
            kept = ScratchDatabase(args.db, Path(tmp), keep=args.keep_db)
            with kept:
                setup_django({**kept.env, "MEDIA_ROOT": env["MEDIA_ROOT"]})
                _seed_once(kept, args.contacts)
            _copy_database(args.keep_db, db.name)
        else:
            setup_django(env)
        from throughline.core.actor import Actor
        from throughline.intake.channels import csv_import

        print(f"== import on {args.db}: {args.rows:,} rows against {args.contacts:,} contacts")
        rng = random.Random(args.seed)
        if not args.keep_db or args.db != "postgres":
            seed_contacts(args.contacts)
        data, mix = make_csv(args.rows, args.contacts, rng)
        print(f"  CSV: {len(data) / 1e6:.1f} MB; rows: {mix}", flush=True)
        actor = Actor.cli()
        imp, _ = csv_import.create_import(actor, "bench.csv", data)
        csv_import.configure(actor, imp, mapping=imp.mapping)
        projected = 0.0
        for name, fn in [
            ("dry run", lambda progress: csv_import.check(imp, progress)),
            ("run", lambda progress: csv_import.run(imp, actor, progress)),
        ]:
            imp.refresh_from_db()
            if args.profile and name == "run":
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            seconds, rows, finished, result = phase(name, fn, args.budget)
            if args.profile and name == "run":
                profiler.disable()
                profiler.dump_stats(args.profile)
            rows = args.rows if finished else max(rows, 1)
            imported = rows  # (after the loop: the rows the run phase took, whose jobs follow)
            rate = rows / seconds
            projected += args.rows / rate
            detail = ""
            if finished and name == "dry run":
                detail = (
                    f" — valid {result['valid']:,}, invalid {result['invalid']:,}, in-file "
                    f"duplicates {result['duplicates_in_file']:,}, known {result['duplicates_in_db']:,}"
                )
            elif finished:
                detail = (
                    f" — created {result['created']:,}, linked {result['linked']:,}, invalid "
                    f"{result['invalid']:,}, duplicates in file {result['duplicates_in_file']:,}"
                )
            cut = "" if finished else f" (stopped after the {args.budget:.0f} s budget)"
            print(
                f"  {name}: {rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s{cut}{detail}",
                flush=True,
            )
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            jobs_seconds = profiler.runcall(followup, args.budget, imported)
            profiler.dump_stats(args.profile + ".jobs")
        else:
            jobs_seconds = followup(args.budget, imported)
        full = projected * 100_000 / args.rows
        verdict = "met" if full <= 60 else f"{full / 60:.1f}× over"
        print(
            f"  100,000-row import (dry run + run): {full:,.0f} s (target ≤ 60 s: {verdict});"
            f" with its follow-up jobs (scoring, one worker): {full + jobs_seconds:,.0f} s",
            flush=True,
        )
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
