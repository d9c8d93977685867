"""Bulk capture (imports): the same outcome as capturing row by row, written in batches."""

from __future__ import annotations

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from throughline.core.audit_log import verify_chain
from throughline.core.models import AuditEntry, DomainEvent
from throughline.crm import services as crm
from throughline.crm.models import Company, Contact
from throughline.intake.bulk_capture import bulk_capturable, capture_many
from throughline.intake.capture import LeadInput, capture_lead, clean_input
from throughline.intake.models import CompanyKey, ContactKey, Lead, PossibleDuplicate

pytestmark = pytest.mark.django_db

PEOPLE = [
    # (first, last, email, phone, company)
    ("Ada", "Lovelace", "ada@analytical.example", "", "Analytical Engines Ltd"),
    ("Charles", "Babbage", "charles@analytical.example", "", "Analytical Engines"),
    ("Grace", "Hopper", "", "+442079460018", ""),  # known by phone
    ("Jon", "Smith", "jon.smith@gmail.com", "", "Initech"),  # likely the known John Smith
    ("Jonathan", "Smyth", "j.smyth@yahoo.co.uk", "", "Initech"),  # likely Jon (same batch)
]


def inputs(people=PEOPLE, source="fair-2026"):
    rows = []
    for n, (first, last, email, phone, company) in enumerate(people):
        data = LeadInput(
            first_name=first,
            last_name=last,
            email=email,
            phone=phone,
            company=company,
            channel="import",
            source=source,
            external_id=f"row-{n}",
            acknowledge=False,
            create_task=False,
        )
        clean = clean_input(data)
        rows.append((data, clean))
    return rows


@pytest.fixture
def known(actor, run_jobs):
    initech = crm.create_company(actor, name="Initech", website="https://initech.example")
    grace = crm.create_contact(actor, first_name="Grace", last_name="Hopper", phone="+442079460018")
    john = crm.create_contact(
        actor, first_name="John", last_name="Smith", email="john@initech.example", company=initech
    )
    run_jobs()  # intake indexes them (its reaction to contact/company.created)
    return {"grace": grace, "john": john, "initech": initech}


def test_a_batch_links_known_people_creates_new_ones_and_flags_likely_matches(actor, known):
    with transaction.atomic():
        outcomes = capture_many(actor, inputs())
    assert [(o.created, o.contact_created, o.matched_on) for o in outcomes] == [
        (True, True, ""),
        (True, True, ""),
        (True, False, "phone"),
        (True, True, ""),
        (True, True, ""),
    ]
    leads = {lead.first_name: lead for lead in Lead.objects.select_related("contact", "company")}
    assert leads["Grace"].contact == known["grace"]
    # One company for the two spellings of "Analytical Engines", created once.
    assert Company.objects.filter(name__startswith="Analytical").count() == 1
    assert leads["Ada"].company == leads["Charles"].company
    assert leads["Jon"].company == known["initech"]
    # The known John Smith flagged for Jon; Jonathan Smyth flagged for Jon, new in this batch.
    assert leads["Jon"].duplicate_of == known["john"]
    jonathan = PossibleDuplicate.objects.filter(lead=leads["Jonathan"])
    assert leads["Jon"].contact_id in {p.candidate_id for p in jonathan}
    # New people are indexed for the next capture's likely-match search.
    assert ContactKey.objects.filter(contact=leads["Ada"].contact).exists()


def test_a_batch_is_audited_and_announced_like_single_captures(actor, known):
    before_entries = AuditEntry.objects.count()
    with transaction.atomic():
        capture_many(actor, inputs())
    actions = list(
        AuditEntry.objects.order_by("seq")[before_entries:].values_list("action", flat=True)
    )
    assert actions.count("lead.captured") == 5
    assert actions.count("contact.created") == 4
    assert actions.count("company.created") == 1
    assert actions.count("lead_source.created") == 1
    assert verify_chain().ok
    captured = DomainEvent.objects.filter(name="lead.captured")
    assert captured.count() == 5
    jon = Lead.objects.get(first_name="Jon")
    payload = captured.get(subject_id=str(jon.pk)).payload
    assert payload["possible_duplicates"] == [str(known["john"].pk)]
    # No handler job re-indexes the new company or contacts: their keys were written with them.
    jobs = DBTaskResult.objects.filter(task_path="throughline.core.events.handle_event")
    handled = {tuple(job.args_kwargs["args"]) for job in jobs}
    engines = Company.objects.get(name__startswith="Analytical")
    assert CompanyKey.objects.filter(company=engines).exists()
    company_created = DomainEvent.objects.get(name="company.created", subject_id=str(engines.pk))
    assert company_created.id not in {event_id for event_id, _ in handled}
    new_contacts = {str(lead.contact_id) for lead in Lead.objects.filter(contact_created=True)}
    created = set(
        DomainEvent.objects.filter(name="contact.created", subject_id__in=new_contacts).values_list(
            "id", flat=True
        )
    )
    assert len(created) == 4
    assert not {event_id for event_id, _ in handled} & created


def test_the_same_batch_again_creates_nothing(actor, known):
    with transaction.atomic():
        capture_many(actor, inputs())
    counts = (Lead.objects.count(), Contact.objects.count(), Company.objects.count())
    with transaction.atomic():
        again = capture_many(actor, inputs())
    assert not any(o.created for o in again)
    assert (Lead.objects.count(), Contact.objects.count(), Company.objects.count()) == counts


def test_a_known_contact_gets_only_what_it_lacked(actor, known):
    rows = inputs([("Grace", "Hopper", "grace@navy.example", "+442079460018", "US Navy")])
    with transaction.atomic():
        (outcome,) = capture_many(actor, rows)
    assert outcome.matched_on == "phone"  # her contact has no e-mail to contradict the lead's
    grace = Contact.objects.get(pk=known["grace"].pk)
    assert (grace.email, grace.email_normalized) == ("grace@navy.example", "grace@navy.example")
    assert grace.company is not None and grace.company.name == "US Navy"
    assert grace.first_name == "Grace"
    assert AuditEntry.objects.filter(action="contact.updated", object_id=str(grace.pk)).exists()


def test_same_outcome_as_row_by_row(actor, known):
    """The fast path decides like ``capture_lead`` on the same people."""
    with transaction.atomic():
        bulk = capture_many(actor, inputs(source="bulk"))
    Lead.objects.all().delete()
    single = [capture_lead(actor, data) for data, _ in inputs(source="single")]
    assert [(o.contact_created, o.matched_on) for o in bulk[:3]] == [
        (True, ""),
        (True, ""),
        (False, "phone"),
    ]
    # Row by row, the people the batch created are known now: every one links, by e-mail or
    # phone, to the very contact the batch made.
    assert all(not s.contact_created for s in single)
    assert {s.contact.pk for s in single} == set(
        Contact.objects.filter(leads__isnull=False).values_list("pk", flat=True)
    )


def test_rows_that_need_e_mails_or_tasks_take_the_single_path():
    assert bulk_capturable(LeadInput(acknowledge=False, create_task=False))
    assert not bulk_capturable(LeadInput(acknowledge=True, create_task=False))
    assert not bulk_capturable(LeadInput(acknowledge=False, create_task=True))


def test_imported_leads_are_scored_right_after_their_batch(actor, known, run_jobs):
    from throughline.intake.scoring import rules

    rules.add_rule(
        actor,
        kind="fit",
        label="Company given",
        field="has_company",
        operator="eq",
        value="yes",
        points=10,
    )
    with transaction.atomic():
        capture_many(actor, inputs())
    run_jobs()
    scores = dict(Lead.objects.values_list("first_name", "score"))
    assert scores["Ada"] == 10 and scores["Grace"] == 0
    assert all(Lead.objects.values_list("tier", flat=True))


def test_later_batches_of_an_import_see_what_earlier_ones_changed(actor, run_jobs):
    # given: Ada, known without a company; batch 1 reads her as a candidate (for "Ada
    # Lovelase") and, from her own row, learns where she works
    from throughline.core.lookup_cache import batch_cache

    ada = crm.create_contact(
        actor, first_name="Ada", last_name="Lovelace", email="ada.lovelace@gmail.com"
    )
    run_jobs()
    first = [
        ("Ada", "Lovelase", "countess@personal.example", "", ""),
        ("Ada", "Lovelace", "ada.lovelace@gmail.com", "", "Difference Ltd"),
    ]
    second = [("Ada", "Lovelace", "lovelace.ada@yahoo.com", "", "Difference Ltd")]
    with batch_cache():
        with transaction.atomic():
            capture_many(actor, inputs(first, source="batch-1"))
        # when: a later batch of the same import has her namesake at that company
        with transaction.atomic():
            [outcome] = capture_many(actor, inputs(second, source="batch-2"))
    # then: flagged as the same company — her company as batch 1 left it, not as first read
    ada.refresh_from_db()
    assert ada.company.name == "Difference Ltd"
    lead = Lead.objects.get(pk=outcome.lead_id)
    [flag] = PossibleDuplicate.objects.filter(lead=lead, candidate=ada)
    assert "same company" in flag.reasons
