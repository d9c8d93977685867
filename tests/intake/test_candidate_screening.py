"""Screening candidates on what their key rows carry (names, organization), before reading contacts."""

from __future__ import annotations

import pytest

from throughline.crm.models import Contact
from throughline.intake import dedup, matching
from throughline.intake.dedup import Person, could_match, score_pair
from throughline.intake.dedup_fixtures import generate
from throughline.intake.models import ContactKey


def row(pk, first_name, last_name, org=""):
    return (pk, *matching.comparison_names(first_name, last_name), org)


def org_of(**fields):
    return dedup.org_signature(Person(**fields))


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
    rows = [row(p.contact_id, p.first_name, p.last_name, dedup.org_signature(p)) for p in people]
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


def test_a_candidate_at_another_organization_is_screened_out():
    ada = Person(contact_id="new", first_name="Ada", last_name="Lovelace", company_name="Engines")
    rows = [
        row(1, "Ada", "Lovelace", org_of(company_name="Looms")),  # elsewhere: never flagged
        row(2, "Ada", "Lovelace", org_of(company_name="Engines Ltd")),  # the same company
        row(3, "Ada", "Lovelace", org_of(company_name="Engine")),  # ratio ≥ 90: the same
        row(4, "Ada", "Lovelace", org_of(email="ada@gmail.com")),  # free mail: says nothing
        row(5, "Ada", "Lovelace"),  # unknown
        row(6, "", "", org_of(email="x@looms.example")),  # unnamed, but elsewhere
        row(7, "", "", org_of(email="x@engines.example", company_name="Engines")),
    ]
    assert could_match(ada, rows) == [7, 2, 3, 4, 5]
    nowhere = Person(contact_id="new", first_name="Ada", last_name="Lovelace")
    assert could_match(nowhere, rows) == [6, 7, 1, 2, 3, 4, 5]


def test_an_organization_signature_that_cannot_be_read_back_is_unknown():
    assert org_of(email="a@b.example", website_domain="odd|domain.example") == ""
    assert org_of(company_name="x" * 700) == ""
    assert org_of(email="ada@gmail.com") == ""
    signature = org_of(company_id=7, company_name="Acme Ltd", email="ada@acme.example")
    assert signature == "domain:acme.example|id:7|name:acme"
    assert dedup.Organization.of_signature(signature).company_norm == "acme"


@pytest.mark.django_db
def test_key_rows_follow_the_company_their_contact_works_at(make_contact, run_jobs):
    from django_tasks_db.models import DBTaskResult

    from throughline.core.actor import Actor
    from throughline.core.models import DomainEvent
    from throughline.crm import services as crm

    actor = Actor.system(label="test")
    company = crm.create_company(actor, name="Analytical Engines")
    contact = make_contact(first_name="Ada", last_name="Smith", email="ada@gmail.com")
    crm.update_contact(actor, contact, company=company)
    run_jobs()

    def orgs():
        return set(ContactKey.objects.filter(contact=contact).values_list("org", flat=True))

    assert orgs() == {f"id:{company.pk}|name:analytical engines"}
    reindexing = DBTaskResult.objects.filter(
        task_path="throughline.core.events.handle_event",
        args_kwargs__args__1="throughline.intake.reactions.reindex_company",
    )
    before = reindexing.count()
    crm.update_company(actor, company, phone="+44 20 7946 0958")  # its keys stay: no job
    assert DomainEvent.objects.filter(name="company.updated").latest("id").payload == {
        "fields": ["phone"]
    }
    assert reindexing.count() == before
    crm.update_company(actor, company, name="Difference Engines", website="https://engines.example")
    assert reindexing.count() == before + 1
    run_jobs()
    assert orgs() == {f"domain:engines.example|id:{company.pk}|name:difference engines"}


@pytest.mark.django_db
def test_the_database_leaves_rows_at_other_organizations_out_before_the_limit(make_contact):
    here = Person(contact_id="new", first_name="Ada", last_name="Smith", email="ada@here.example")
    contacts = [make_contact(first_name="A", last_name=f"S{n}") for n in range(4)]
    elsewhere, colleague, freemail, named = contacts
    ContactKey.objects.bulk_create(
        [
            ContactKey(contact=c, key=key, org=org)
            for key in ("t:a", "t:b")
            for c, org in (
                (elsewhere, org_of(email="x@away.example")),
                (colleague, org_of(email="y@here.example")),
                (freemail, org_of(email="z@gmail.com")),
                (named, org_of(company_name="Away Ltd")),
            )
        ]
    )

    def found(seekers):
        return {
            key: sorted(str(r[0]) for r in rows)
            for key, rows in dedup.candidate_rows(seekers).items()
        }

    ids = {c: str(c.pk) for c in contacts}
    assert found({"t:a": [here]}) == {"t:a": sorted([ids[colleague], ids[freemail]])}
    at_a_firm = Person(contact_id="new", first_name="Ada", last_name="Smith", company_name="Here")
    # A company name is compared by similarity: a row with one is kept for scoring.
    assert found({"t:a": [at_a_firm]}) == {"t:a": sorted([ids[freemail], ids[named]])}
    nowhere = Person(contact_id="new", first_name="Ada", last_name="Smith")
    assert found({"t:a": [here], "t:b": [here, nowhere]}) == {
        "t:a": sorted([ids[colleague], ids[freemail]]),
        "t:b": sorted(ids.values()),
    }


@pytest.mark.django_db
def test_namesakes_elsewhere_do_not_crowd_out_a_colleague(make_contact):
    here = Person(contact_id="new", first_name="Ada", last_name="Smith", email="ada@here.example")
    colleague = make_contact(first_name="Ada", last_name="Smyth", email="a.smyth@here.example")
    namesakes = [
        make_contact(first_name="Ada", last_name="Smith", email=f"ada@away{n}.example")
        for n in range(dedup.PER_KEY + 5)
    ]
    ContactKey.objects.bulk_create(
        [
            ContactKey(contact=c, key="t:x", org=org_of(email=c.email_normalized))
            for c in [*namesakes, colleague]  # the colleague's row comes last
        ]
    )
    rows = dedup.candidate_rows({"t:x": [here]})["t:x"]
    assert [r[0] for r in rows] == [str(colleague.pk)]


@pytest.mark.django_db
def test_a_contact_change_gets_a_reindexing_job_only_when_its_keys_change(actor, make_contact):
    from django_tasks_db.models import DBTaskResult

    from throughline.crm import services as crm

    contact = make_contact(first_name="Ada", last_name="Smith", email="ada@navy.example")

    def reindex_jobs():
        return DBTaskResult.objects.filter(
            task_path="throughline.core.events.handle_event",
            args_kwargs__args__1="throughline.intake.reactions.reindex_contact",
        ).count()

    dedup.index_contact(contact)
    before = reindex_jobs()
    crm.update_contact(actor, contact, notes="Prefers e-mail")  # keys as they were: no job
    assert reindex_jobs() == before
    crm.update_contact(actor, contact, last_name="Byron")  # other keys: a job
    assert reindex_jobs() == before + 1
    assert dedup.already_indexed(Contact, (), [str(contact.pk)]) == set()
    contact.refresh_from_db()
    dedup.index_contact(contact)
    assert dedup.already_indexed(Contact, (), [str(contact.pk)]) == {str(contact.pk)}


@pytest.mark.django_db
def test_a_deleted_company_leaves_its_people_s_key_rows(actor, make_contact, run_jobs):
    from throughline.core.models import AuditEntry, DomainEvent
    from throughline.crm import services as crm

    company = crm.create_company(actor, name="Analytical Engines")
    contact = make_contact(first_name="Ada", last_name="Smith", email="ada@gmail.com")
    crm.update_contact(actor, contact, company=company)
    run_jobs()
    assert set(ContactKey.objects.filter(contact=contact).values_list("org", flat=True)) == {
        f"id:{company.pk}|name:analytical engines"
    }
    crm.delete_company(actor, company)
    changed = DomainEvent.objects.filter(name="contact.updated", subject_id=str(contact.pk))
    assert changed.latest("id").payload == {"fields": ["company"]}
    assert AuditEntry.objects.filter(action="contact.updated", object_id=str(contact.pk)).exists()
    run_jobs()
    assert set(ContactKey.objects.filter(contact=contact).values_list("org", flat=True)) == {""}
