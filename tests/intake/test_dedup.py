"""Likely-match decisions on tricky pairs, and what capture does with them."""

from __future__ import annotations

import pytest

from throughline.intake.dedup import FLAG_THRESHOLD, Person, score_pair
from throughline.intake.dedup_fixtures import generate
from throughline.intake.models import ContactKey, PossibleDuplicate


def P(first="", last="", email="", phone="", company="", pk=None):  # noqa: N802 - reads as a row
    return Person(
        contact_id=pk or object(),
        first_name=first,
        last_name=last,
        email=email.lower(),
        phone=phone,
        company_name=company,
    )


DUPLICATES = [
    (
        "Jon / John Smith, same company",
        P("Jon", "Smith", "jon@acme.example", company="Acme Ltd"),
        P("John", "Smith", "john.smith@acme.example", company="ACME Limited"),
    ),
    (
        "first and last name transposed",
        P("Smith", "John", "jsmith@acme.example"),
        P("John", "Smith", "john.smith@acme.example", company="Acme"),
    ),
    (
        "typo in the e-mail local part",
        P("Sarah", "Connor", "sarah.conor@cyberdyne.example"),
        P("Sarah", "Connor", "sarah.connor@cyberdyne.example"),
    ),
    (
        "typo'd address, no name given",
        P(email="sarah.conor@cyberdyne.example"),
        P("Sarah", "Connor", "sarah.connor@cyberdyne.example"),
    ),
    (
        "misspelt surname at the same company",
        P("Nancy", "Sipson", company="Oakridge Tutoring"),
        P("Nancy", "Simpson", "nsimpson@oakridge.example", company="Oakridge Tutoring & Co"),
    ),
    (
        "nickname, work address domain",
        P("Bob", "Jones", "bob@acme.example"),
        P("Robert", "Jones", "robert.jones@acme.example"),
    ),
    (
        "typo'd free-mail address and name",
        P("Jon", "Smith", "jonh.smith@gmail.com"),
        P("John", "Smith", "john.smith@gmail.com"),
    ),
    (
        "distinctive free-mail name at another provider",
        P("Luke", "Skywalker", "farmboy77@outlook.com"),
        P("Luke", "Skywalker", "farmboy77@gmail.com"),
    ),
]

NOT_DUPLICATES = [
    (
        "same name, different company",
        P("John", "Smith", "john.smith@globex.example", company="Globex"),
        P("John", "Smith", "john.smith@acme.example", company="Acme"),
    ),
    (
        "gmail.com is not a company",
        P("John", "Smith", "john.smith@gmail.com"),
        P("John", "Smyth", "jsmyth77@gmail.com"),
    ),
    (
        "common name, same provider, unrelated addresses",
        P("John", "Smith", "jsmith.work@gmail.com"),
        P("John", "Smith", "johnny1980@gmail.com"),
    ),
    (
        "colleagues with one surname",
        P("Sarah", "Patel", "sarah@patel.example", company="Patel & Co"),
        P("Raj", "Patel", "raj@patel.example", company="Patel and Co Ltd"),
    ),
    (
        "Harris is not Harrison",
        P("Aaron", "Harrison", "aaronharrison@icloud.com"),
        P("Aaron", "Harris", "aaronharris@icloud.com"),
    ),
    (
        "numbered addresses of two people",
        P("", "", "john.smith1@acme.example"),
        P("John", "Smith", "john.smith2@acme.example"),
    ),
    (
        "names differing as their addresses do",
        P("Ama", "Thomas", "amathomas@gmail.com"),
        P("Amy", "Thomas", "amy.thomas@gmail.com"),
    ),
]


@pytest.mark.parametrize(("label", "a", "b"), DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_likely_duplicates_are_flagged(label, a, b):
    match = score_pair(a, b)
    assert match is not None and match.confidence >= FLAG_THRESHOLD, match
    assert match.reasons


@pytest.mark.parametrize(("label", "a", "b"), NOT_DUPLICATES, ids=[d[0] for d in NOT_DUPLICATES])
def test_different_people_are_not_flagged(label, a, b):
    match = score_pair(a, b)
    assert match is None or match.confidence < FLAG_THRESHOLD, match


def test_capture_flags_a_likely_duplicate_with_confidence_and_reasons(capture):
    original = capture(
        first_name="John", last_name="Smith", email="john.smith@acme.example", company="Acme Ltd"
    ).contact
    # when
    result = capture(first_name="Jon", last_name="Smith", email="jon@acme.example", company="ACME")
    # then: a new contact (different address), flagged against the original
    assert result.contact_created
    [flag] = result.possible_duplicates
    assert flag.candidate == original and flag.contact == result.contact
    assert flag.status == PossibleDuplicate.Status.OPEN
    assert flag.confidence >= FLAG_THRESHOLD and "same company" in flag.reasons
    assert result.lead.duplicate_of_id == original.pk
    assert result.lead.duplicate_confidence == flag.confidence


def test_capture_does_not_flag_a_namesake_elsewhere(capture):
    capture(first_name="John", last_name="Smith", email="john.smith@acme.example", company="Acme")
    result = capture(
        first_name="John", last_name="Smith", email="john.smith@globex.example", company="Globex"
    )
    assert result.possible_duplicates == [] and result.lead.duplicate_of is None


def test_contacts_made_in_the_crm_are_found_once_indexed(make_contact, capture, run_jobs):
    original = make_contact(
        first_name="Grace", last_name="Hopper", email="grace.hopper@navy.example"
    )
    run_jobs()  # contact.created → intake stores its blocking keys
    assert ContactKey.objects.filter(contact=original).exists()
    result = capture(first_name="Grace", last_name="Hoper", email="grace.hoper@navy.example")
    assert [d.candidate for d in result.possible_duplicates] == [original]


def test_the_labelled_set_is_seeded_and_balanced():
    first, again = generate(3, population=300, probes=60), generate(3, population=300, probes=60)
    assert [p.record for p in first.probes] == [p.record for p in again.probes]
    assert sum(p.duplicate_of is not None for p in first.probes) == 30
    emails = [r.email for r in first.population]
    assert len(set(emails)) == len(emails)
