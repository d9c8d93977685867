"""Screening candidates on the names stored with their blocking keys (before reading contacts)."""

from __future__ import annotations

import pytest

from throughline.intake import dedup, matching
from throughline.intake.dedup import Person, could_match, score_pair
from throughline.intake.dedup_fixtures import generate
from throughline.intake.models import ContactKey


def row(pk, first_name, last_name):
    return (pk, *matching.comparison_names(first_name, last_name))


def test_a_named_candidate_whose_surname_cannot_match_is_screened_out():
    ada = Person(contact_id="new", first_name="Ada", last_name="Lovelace")
    rows = [
        row(1, "Ada", "Lovelace"),
        row(2, "Ada", "Lovelase"),  # a typo stays
        row(3, "Lovelace", "Ada"),  # transposed stays
        row(4, "Grace", "Hopper"),  # no surname near "lovelace" either way
        row(5, "", "Hopper"),  # no full name: not screened
        row(6, "", ""),  # names unknown: not screened
        row(1, "Ada", "Lovelace"),  # once per contact
        row("new", "Ada", "Lovelace"),  # never the person itself
    ]
    assert could_match(ada, rows) == [5, 6, 1, 2, 3]


def test_without_a_full_name_nobody_is_screened_out():
    someone = Person(contact_id="new", email="ada@example.com")
    assert could_match(someone, [row(4, "Grace", "Hopper")]) == [4]


def test_a_cut_name_is_treated_as_unknown():
    ada = Person(contact_id="new", first_name="Ada", last_name="Lovelace")
    long_name = "x" * 150
    assert could_match(ada, [row(7, "Grace", long_name)]) == [7]


def test_screening_never_drops_a_pair_that_scoring_flags():
    # Every probe of a labelled set against the whole population: the screen keeps each
    # pair score_pair would flag (it is exact, not a heuristic), and drops most others.
    labelled = generate(11, population=400, probes=120)
    people = [
        Person(
            contact_id=n,
            first_name=r.first_name,
            last_name=r.last_name,
            email=r.email.lower(),
            phone=r.phone,
            company_name=r.company,
        )
        for n, r in enumerate(labelled.population)
    ]
    rows = [row(p.contact_id, p.first_name, p.last_name) for p in people]
    flagged = kept_total = 0
    for probe in labelled.probes:
        r = probe.record
        person = Person(
            contact_id="probe",
            first_name=r.first_name,
            last_name=r.last_name,
            email=r.email.lower(),
            phone=r.phone,
            company_name=r.company,
        )
        kept = set(could_match(person, rows))
        kept_total += len(kept)
        for other in people:
            match = score_pair(person, other)
            if match is not None and match.confidence >= dedup.FLAG_THRESHOLD:
                flagged += 1
                assert other.contact_id in kept, (r, other)
    assert flagged > 50
    assert kept_total < len(labelled.probes) * len(people) / 5


@pytest.mark.django_db
def test_key_rows_follow_a_rename_that_keeps_the_same_keys(make_contact, run_jobs):
    contact = make_contact(first_name="Ada", last_name="Smith", email="ada@navy.example")
    run_jobs()
    keys = set(ContactKey.objects.filter(contact=contact).values_list("key", flat=True))
    assert set(ContactKey.objects.filter(contact=contact).values_list("first", "last")) == {
        ("ada", "smith")
    }
    contact.last_name = "Smyth"  # the same Soundex: the same keys
    contact.save(update_fields=["last_name"])
    assert dedup.index_contact(contact) is True
    assert set(ContactKey.objects.filter(contact=contact).values_list("key", flat=True)) == keys
    assert set(ContactKey.objects.filter(contact=contact).values_list("first", "last")) == {
        ("ada", "smyth")
    }
    assert dedup.index_contact(contact) is False
