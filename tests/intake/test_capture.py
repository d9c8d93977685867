"""capture_lead through the service: the one entry point every channel calls."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_tasks_db.models import DBTaskResult

from throughline.core.models import AuditEntry, DomainEvent
from throughline.crm.custom_field_services import create_custom_field
from throughline.crm.models import Company, ConsentRecord, Contact, Task
from throughline.intake.capture import ConsentInput
from throughline.intake.models import ContactKey, Lead, LeadSource
from throughline.messaging.models import OutboundMessage


def test_a_new_person_becomes_a_contact_and_a_lead_with_everything_around_it(capture, owner):
    # when
    result = capture(
        first_name="  ada ",
        last_name="LOVELACE",
        email="Ada.Lovelace@Example.COM",
        phone="020 7946 0958",  # the org's region is GB
        company="Analytical Engines Ltd",
        website="https://www.analytical-engines.example/contact?x=1",
        message="We need a difference engine.\r\nBy Friday.",
        source="google-ads",
        utm={"utm_source": "google", "medium": "cpc", "gclid": "abc123"},
        referrer="https://www.google.com/",
        consents=[ConsentInput("marketing", True, "form-v3", "Send me news.")],
    )
    # then: one contact, normalized, owned like the lead
    lead, contact = result.lead, result.contact
    assert result.created and result.contact_created and result.matched_on == ""
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
    assert contact.email_normalized == "ada.lovelace@example.com"
    assert contact.phone == "+442079460958"
    assert contact.company.name == "Analytical Engines Ltd"
    assert contact.company.domain == "analytical-engines.example"
    # the lead keeps what was submitted, UTM and referrer included
    assert lead.contact == contact and lead.status == Lead.Status.NEW
    assert lead.source.slug == "google-ads" and lead.channel == "api"
    assert lead.utm == {"utm_source": "google", "utm_medium": "cpc", "gclid": "abc123"}
    assert lead.referrer == "https://www.google.com/"
    assert lead.message == "We need a difference engine.\nBy Friday."
    assert lead.owner == owner  # no routing yet: the organization's first owner
    assert lead.score == 0
    assert lead.ip == "203.0.113.7"
    # consent, first-contact task, acknowledgement, audit, event — all in the transaction
    consent = ConsentRecord.objects.get(contact=contact)
    assert (consent.purpose, consent.granted, consent.wording_version) == (
        "marketing",
        True,
        "form-v3",
    )
    task = Task.objects.get(source=lead.task_source)
    assert task.owner == owner and task.contact == contact and task.due_at == lead.sla_due_at
    ack = OutboundMessage.objects.get(source=lead.task_source)
    assert ack.idempotency_key == f"lead-ack:{lead.pk}"
    assert AuditEntry.objects.filter(action="lead.captured", object_id=str(lead.pk)).exists()
    event = DomainEvent.objects.get(name="lead.captured")
    assert event.subject_id == str(lead.pk)
    assert event.payload["contact_id"] == str(contact.pk)
    assert event.payload["contact_created"] is True
    # the new contact is findable for later likely-match searches
    assert ContactKey.objects.filter(contact=contact).count() >= 3


def test_a_known_email_links_to_the_same_contact_and_fills_only_what_is_missing(
    capture, make_contact
):
    known = make_contact(first_name="Grace", last_name="Hopper", email="grace@navy.example")
    # when: the same person, address typed differently, with a phone and a job title
    result = capture(
        first_name="Gracie",
        last_name="Hopper-Smith",
        email=" GRACE@navy.example ",
        phone="+44 114 496 0123",
        title="Rear Admiral",
    )
    # then: linked, nothing overwritten, gaps filled
    assert result.contact.pk == known.pk and not result.contact_created
    assert result.matched_on == "email"
    known.refresh_from_db()
    assert (known.first_name, known.last_name) == ("Grace", "Hopper")
    assert known.phone == "+441144960123" and known.title == "Rear Admiral"
    assert Contact.objects.count() == 1
    # the lead keeps what the person typed this time
    assert (result.lead.first_name, result.lead.last_name) == ("Gracie", "Hopper-Smith")
    assert result.possible_duplicates == []


def test_a_known_phone_links_when_nothing_contradicts_it(capture, make_contact):
    known = make_contact(first_name="Alan", last_name="Turing", phone="+441144960555")
    result = capture(first_name="alan", last_name="turing", phone="0114 496 0555")
    assert result.contact.pk == known.pk and result.matched_on == "phone"


def test_a_shared_switchboard_number_is_not_the_same_person(capture, make_contact):
    # given: a colleague with the office number and their own e-mail
    colleague = make_contact(
        first_name="Mary", last_name="Jones", email="mary@office.example", phone="+442079460100"
    )
    # when: someone else calls from the same number
    result = capture(
        first_name="Peter", last_name="Blake", email="peter@office.example", phone="020 7946 0100"
    )
    assert result.contact.pk != colleague.pk and result.contact_created


def test_company_is_matched_by_name_without_legal_form_or_by_domain(
    capture, make_company, run_jobs
):
    acme = make_company(name="ACME Limited", website="https://acme.example")
    run_jobs()  # intake indexes companies made elsewhere when it hears company.created
    by_name = capture(
        first_name="Wile", last_name="Coyote", email="wile@coyote.example", company="Acme Ltd."
    )
    by_domain = capture(first_name="Road", last_name="Runner", email="road@acme.example")
    assert by_name.lead.company == acme
    assert by_domain.lead.company == acme and by_domain.contact.company == acme
    assert Company.objects.count() == 1


def test_free_mail_domain_does_not_invent_a_company(capture):
    result = capture(first_name="Jo", last_name="Bloggs", email="jo.bloggs@gmail.com")
    assert result.lead.company is None and Company.objects.count() == 0


def test_same_external_id_twice_returns_the_first_lead(capture):
    first = capture(email="once@example.com", source="typeform", external_id="resp-42")
    again = capture(email="once@example.com", source="typeform", external_id="resp-42")
    assert again.lead.pk == first.lead.pk and not again.created
    assert Lead.objects.count() == 1


def test_custom_lead_fields_are_validated_with_the_organizations_definitions(capture, actor):
    create_custom_field(actor, entity="lead", key="budget", label="Budget", kind="number")
    result = capture(email="b@example.com", custom={"budget": "12000.50"})
    assert result.lead.custom == {"budget": "12000.50"}
    with pytest.raises(ValidationError) as error:
        capture(email="c@example.com", custom={"budget": "lots", "colour": "red"})
    assert set(error.value.message_dict) == {"custom.budget", "custom.colour"}


def test_unknown_source_slug_creates_the_source_once(capture):
    capture(email="a@example.com", source="podcast-ad")
    capture(email="b@example.com", source="podcast-ad")
    source = LeadSource.objects.get(slug="podcast-ad")
    assert source.name == "Podcast Ad" and source.leads.count() == 2


def test_markup_is_stored_as_typed(capture):
    script = "<script>alert('X')</script>"
    result = capture(
        first_name="<b>Bob</b>", last_name=script, email="bob@example.com", message=script
    )
    assert result.lead.message == script
    assert result.contact.first_name == "<b>Bob</b>"
    assert result.lead.last_name == script


BAD_INPUTS = [
    ({"email": "not-an-address"}, {"email"}),
    ({"email": "a@b@c.example"}, {"email"}),
    ({"phone": "12"}, {"phone"}),
    ({"email": "ok@example.com", "phone": "+1 555 0100 999 999"}, {"phone"}),
    ({"first_name": "Ada"}, {"__all__"}),  # nothing to answer
    ({"email": "ok@example.com", "first_name": "x" * 101}, {"first_name"}),
    ({"email": "ok@example.com", "website": "javascript:alert(1)"}, {"website"}),
    ({"email": "ok@example.com", "website": "not a site"}, {"website"}),
    ({"email": "ok@example.com", "source": "Bad Slug!"}, {"source"}),
    ({"email": "ok@example.com", "utm": {"evil": "x"}}, {"utm"}),
    ({"email": "ok@example.com", "utm": "utm_source=x"}, {"utm"}),
    ({"email": "ok@example.com", "message": "x" * 20_001}, {"message"}),
    ({"email": "ok@example.com", "channel": "pigeon"}, {"channel"}),
    ({"email": "ok@example.com", "first_name": 42}, {"first_name"}),
    (
        {"email": "ok@example.com", "consents": [ConsentInput("", True, "v1")]},
        {"consent"},
    ),
    (
        {"email": "bad", "phone": "bad", "website": "::", "source": "?"},
        {"email", "phone", "website", "source"},
    ),
]


@pytest.mark.parametrize(("data", "fields"), BAD_INPUTS)
def test_bad_input_names_every_field_and_writes_nothing(capture, users, data, fields):
    models = (Lead, Contact, Company, Task, AuditEntry, DomainEvent, OutboundMessage, DBTaskResult)
    before = {m: m.objects.count() for m in models}
    with pytest.raises(ValidationError) as error:
        capture(**data)
    assert set(error.value.message_dict) == fields
    assert {m: m.objects.count() for m in models} == before


def test_received_at_must_be_aware_and_not_in_the_future(capture):
    with pytest.raises(ValidationError) as error:
        capture(email="a@example.com", received_at=dt.datetime(2025, 1, 1, 9, 0))
    assert "received_at" in error.value.message_dict


def test_nul_bytes_and_control_characters_are_dropped(capture):
    result = capture(email="n@example.com", first_name="Nu\x00ll", message="a\x00b\x07c\n d")
    assert result.lead.first_name == "Null" and result.lead.message == "abc\n d"
