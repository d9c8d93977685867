"""A capture validates and looks up before it writes (``capture.prepare``), then writes
(``capture.capture_prepared``): what another capture created in between is found, not made
twice.

"In between" is made deterministic here: each test prepares a lead, writes the person (or
company) through another capture, then lets the first one write.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from throughline.crm.models import Company, Contact
from throughline.intake.capture import LeadInput, capture_prepared, prepare
from throughline.intake.models import Lead


@pytest.fixture
def prepared(api_actor):
    def run(**data):
        return prepare(api_actor, LeadInput(channel="api", **data))

    return run


def test_prepare_validates_and_writes_nothing(prepared, capture):
    capture(email="known@example.com", first_name="Known", last_name="Person")
    contacts, leads = Contact.objects.count(), Lead.objects.count()
    with pytest.raises(ValidationError) as error:
        prepared(email="not-an-address", phone="12")
    assert {"email", "phone"} <= set(error.value.message_dict)
    ready = prepared(email="KNOWN@example.com", company="Acme Ltd")
    assert ready.known[0] is not None and ready.known[1] == "email"
    assert (Contact.objects.count(), Lead.objects.count()) == (contacts, leads)


def test_a_person_created_meanwhile_with_the_same_phone_is_linked(prepared, capture, api_actor):
    ready = prepared(first_name="Ada", last_name="Byron", phone="+441144960777")
    assert ready.known == (None, "")
    other = capture(first_name="Ada", last_name="Byron", phone="0114 496 0777")
    result = capture_prepared(api_actor, ready)
    assert result.contact.pk == other.contact.pk and result.matched_on == "phone"
    assert not result.contact_created and Contact.objects.count() == 1


def test_a_person_created_meanwhile_with_the_same_email_is_linked(prepared, capture, api_actor):
    ready = prepared(first_name="Grace", last_name="Hopper", email="grace@navy.example")
    other = capture(first_name="Grace", last_name="Hopper", email="Grace@navy.example")
    # The unique e-mail refuses a second contact; the next attempt finds the first.
    result = capture_prepared(api_actor, ready)
    assert result.contact.pk == other.contact.pk and result.matched_on == "email"
    assert Contact.objects.count() == 1 and Lead.objects.count() == 2


def test_a_company_created_meanwhile_is_used_not_made_again(prepared, capture, api_actor):
    ready = prepared(first_name="Alan", last_name="Kay", email="alan@gmail.com", company="Xerox")
    assert ready.company is None
    other = capture(
        first_name="Adele", last_name="Goldberg", email="adele@gmail.com", company="Xerox Ltd"
    )
    result = capture_prepared(api_actor, ready)
    assert result.lead.company_id == other.lead.company_id is not None
    assert Company.objects.count() == 1


def test_likely_matches_found_before_are_flagged(prepared, capture, api_actor):
    capture(first_name="Katherine", last_name="Johnson", email="kj@nasa.example", company="NASA")
    ready = prepared(
        first_name="Katharine",
        last_name="Johnson",
        email="katherine.j@nasa.example",
        company="NASA",
    )
    assert ready.matches
    result = capture_prepared(api_actor, ready)
    assert result.contact_created
    assert result.lead.duplicate_of_id == ready.matches[0].contact_id
    assert [p.candidate_id for p in result.possible_duplicates] == [
        m.contact_id for m in ready.matches
    ]
