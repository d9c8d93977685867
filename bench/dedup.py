"""Likely-duplicate detection quality (DESIGN §7: precision ≥ 0.98, recall ≥ 0.95).

A seeded, labelled set (``throughline.intake.dedup_fixtures``): a population of distinct
people stored as contacts (with their blocking keys, as the app stores them), and probes —
new inquiries — half of them realistic near-duplicates of someone in the population, half
new people including hard negatives (namesakes elsewhere, colleagues with the same surname,
common names on the same free-mail provider). Each probe goes through the app's own
candidate search and scoring (``intake.dedup.find_matches``, blocking keys in the database).

precision = flagged pairs that are right / all flagged pairs;
recall    = near-duplicates whose original was flagged / all near-duplicates.

Usage: python bench/dedup.py [--population 20000] [--probes 2000] [--seed N] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import ScratchDatabase, percentile, setup_django  # noqa: E402


def load_population(population) -> list:
    """Bulk-insert the population as companies and contacts with blocking keys; ids by index."""
    import uuid

    from throughline.crm.models import Company, Contact
    from throughline.intake import dedup, matching
    from throughline.intake.models import CompanyKey, ContactKey

    companies: dict[str, Company] = {}
    for record in population:
        if record.company and record.company not in companies:
            domain = ""
            if record.email and not matching.is_generic_domain(record.email.partition("@")[2]):
                domain = record.email.partition("@")[2]
            companies[record.company] = Company(id=uuid.uuid4(), name=record.company, domain=domain)
    Company.objects.bulk_create(companies.values(), batch_size=2000)
    CompanyKey.objects.bulk_create(
        [
            CompanyKey(company_id=c.pk, key=key)
            for c in companies.values()
            for key in matching.company_keys(c.name, c.domain)
        ],
        batch_size=5000,
    )
    contacts = [
        Contact(
            id=uuid.uuid4(),
            first_name=r.first_name,
            last_name=r.last_name,
            email=r.email,
            email_normalized=r.email.lower(),
            phone=r.phone,
            company=companies.get(r.company),
        )
        for r in population
    ]
    Contact.objects.bulk_create(contacts, batch_size=2000)
    ContactKey.objects.bulk_create(
        [row for c in contacts for row in dedup.contact_key_rows(c)], batch_size=5000
    )
    return [c.pk for c in contacts]


def evaluate(labelled, ids: list, show: int = 0) -> dict:
    from throughline.intake import dedup

    index_of = {pk: i for i, pk in enumerate(ids)}
    by_email = {r.email.lower(): i for i, r in enumerate(labelled.population) if r.email}
    by_phone = {r.phone: i for i, r in enumerate(labelled.population) if r.phone}
    tp = fp = fn = exact = 0
    per_kind = collections.defaultdict(lambda: [0, 0])  # kind -> [found, total]
    fp_kinds: collections.Counter = collections.Counter()
    timings = []
    misses, wrong = [], []
    positives = 0
    for probe in labelled.probes:
        r = probe.record
        email = r.email.lower()
        if (email and email in by_email) or (r.phone and r.phone in by_phone):
            exact += 1  # an exact match is linked directly, never a "likely" one
            continue
        person = dedup.Person(
            first_name=r.first_name,
            last_name=r.last_name,
            email=email,
            phone=r.phone,
            company_name=r.company,
        )
        started = time.perf_counter()
        matches = dedup.find_matches(person)
        timings.append((time.perf_counter() - started) * 1000)
        flagged = [index_of[m.contact_id] for m in matches]
        if probe.duplicate_of is not None:
            positives += 1
            kind = per_kind[probe.kind]
            kind[1] += 1
            if probe.duplicate_of in flagged:
                tp += 1
                kind[0] += 1
            else:
                fn += 1
                misses.append((probe, labelled.population[probe.duplicate_of]))
        for index in flagged:
            if index != probe.duplicate_of:
                fp += 1
                fp_kinds[probe.kind] += 1
                wrong.append((probe, labelled.population[index]))
    for title, rows in (("missed", misses), ("wrongly flagged", wrong)):
        for probe, other in rows[:show]:
            print(f"  {title}: [{probe.kind}] {probe.record} ~ {other}")
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "exact": exact,
        "positives": positives,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / positives if positives else 1.0,
        "per_kind": per_kind,
        "fp_kinds": fp_kinds,
        "timings": timings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=20_000)
    parser.add_argument("--probes", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20260401)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--show", type=int, default=0, help="Print this many misses / wrong flags")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, ScratchDatabase(args.db, Path(tmp)) as db:
        setup_django(db.env)
        from throughline.intake.dedup_fixtures import generate

        started = time.perf_counter()
        labelled = generate(args.seed, args.population, args.probes)
        ids = load_population(labelled.population)
        print(
            f"population {len(ids)} contacts, {len(labelled.probes)} probes "
            f"(seed {args.seed}, {args.db}); set up in {time.perf_counter() - started:.1f} s"
        )
        result = evaluate(labelled, ids, show=args.show)
    print(
        f"precision {result['precision']:.3f} (target 0.98)   recall {result['recall']:.3f} "
        f"(target 0.95)   tp {result['tp']} fp {result['fp']} fn {result['fn']} "
        f"of {result['positives']} near-duplicates; {result['exact']} probes were exact matches"
    )
    print("recall by kind of near-duplicate:")
    for kind, (found, total) in sorted(result["per_kind"].items(), key=lambda kv: -kv[1][1]):
        print(f"  {found / total:6.3f}  {found:4d}/{total:<4d}  {kind}")
    if result["fp_kinds"]:
        print("wrong flags by kind of probe:", dict(result["fp_kinds"].most_common()))
    t = result["timings"]
    print(
        f"candidate search + scoring per probe: p50 {percentile(t, 50):.2f} ms, p99 {percentile(t, 99):.2f} ms"
    )


if __name__ == "__main__":
    main()
