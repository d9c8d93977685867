"""Merging a possible duplicate keeps everything of both contacts; dismissing keeps both."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from throughline.core.audit_log import verify_chain
from throughline.core.models import AuditEntry, DomainEvent
from throughline.crm import services as crm
from throughline.crm.models import Activity, ConsentRecord, Contact, Task
from throughline.crm.timeline import timeline_for
from throughline.intake import merge
from throughline.intake.capture import ConsentInput
from throughline.intake.models import ContactKey, ContactMerge, Lead, PossibleDuplicate
from throughline.messaging.models import OutboundMessage


@pytest.fixture
def pair(capture, actor, make_contact):
    """An existing client with history, and a new lead that is probably them."""
    original = make_contact(
        first_name="John", last_name="Smith", email="john.smith@acme.example", tags=["client"]
    )
    crm.log_activity(actor, kind="note", contact=original, body="Met at the fair")
    crm.record_consent(actor, original, purpose="terms", granted=True, wording_version="1")
    first_lead = capture(first_name="John", last_name="Smith", email="john.smith@acme.example").lead
    result = capture(
        first_name="Jon",
        last_name="Smith",
        email="jon.smith@acme.example",
        phone="020 7946 0123",
        title="CTO",
        company="Acme",
        consents=[ConsentInput("marketing", True, "form-1")],
    )
    crm.log_activity(
        actor, kind="call", contact=result.contact, body="Left a voicemail", direction="out"
    )
    [duplicate] = result.possible_duplicates
    return original, result.contact, first_lead, result.lead, duplicate


def counts(contact: Contact) -> dict:
    return {
        "leads": Lead.objects.filter(contact=contact).count(),
        "activities": Activity.objects.filter(contact=contact).count(),
        "tasks": Task.objects.filter(contact=contact).count(),
        "consents": ConsentRecord.objects.filter(contact=contact).count(),
        "messages": OutboundMessage.objects.filter(contact=contact).count(),
    }


def test_merge_keeps_every_record_of_both_and_is_audited(pair, actor):
    original, new, first_lead, second_lead, duplicate = pair
    before = {k: counts(original)[k] + counts(new)[k] for k in counts(original)}
    assert all(before.values())
    new_id = new.pk
    audit_of_new = AuditEntry.objects.filter(object_id=str(new_id)).count()

    # when: keep the original, take the new phone and title (filled anyway: they were empty)
    survivor = merge.merge_duplicate(actor, duplicate, take=["title"])

    # then: one contact holds everything
    assert survivor.pk == original.pk
    assert not Contact.objects.filter(pk=new_id).exists()
    assert counts(survivor) == before
    survivor.refresh_from_db()
    assert survivor.first_name == "John" and survivor.email == "john.smith@acme.example"
    assert survivor.phone == "+442079460123" and survivor.title == "CTO"
    assert list(survivor.tags.values_list("name", flat=True)) == ["client"]
    # both leads are the survivor's; the question is settled
    first_lead.refresh_from_db()
    second_lead.refresh_from_db()
    assert first_lead.contact == second_lead.contact == survivor
    assert second_lead.duplicate_of is None
    duplicate.refresh_from_db()
    assert (
        duplicate.status == PossibleDuplicate.Status.MERGED and duplicate.resolved_by == actor.user
    )
    # audit: the merge, the removed contact's last state, and its old entries all kept
    merged_entry = AuditEntry.objects.get(action="contact.merged")
    assert merged_entry.object_id == str(survivor.pk)
    assert merged_entry.changes["merged_from"] == [None, str(new_id)]
    deleted = AuditEntry.objects.get(action="contact.deleted", object_id=str(new_id))
    assert deleted.changes["email"] == ["jon.smith@acme.example", None]
    assert AuditEntry.objects.filter(object_id=str(new_id)).count() == audit_of_new + 1
    assert AuditEntry.objects.filter(action="lead.duplicate_merged").count() == 1
    assert verify_chain().ok
    # events
    event = DomainEvent.objects.get(name="lead.duplicate_merged")
    assert event.payload["contact_id"] == str(survivor.pk)
    assert event.payload["merged_contact_id"] == str(new_id)
    assert DomainEvent.objects.filter(name="contact.merged").exists()
    # history: the survivor's timeline shows the merged record's past too
    record = ContactMerge.objects.get(survivor=survivor)
    assert record.merged_contact_id == new_id and record.snapshot["first_name"] == "Jon"
    titles = [e.title for e in timeline_for(survivor)]
    assert "Merged with Jon Smith" in titles
    assert any("(as Jon Smith)" in t for t in titles)
    # and it is found by its new details from now on
    assert ContactKey.objects.filter(contact=survivor).exists()


def test_an_email_taken_from_the_merged_contact_moves_over(pair, actor):
    original, new, *_, duplicate = pair
    survivor = merge.merge_duplicate(actor, duplicate, take=["email", "first_name"])
    survivor.refresh_from_db()
    assert (survivor.first_name, survivor.email) == ("Jon", "jon.smith@acme.example")


def test_a_decided_duplicate_cannot_be_decided_again(pair, actor):
    *_, duplicate = pair
    merge.dismiss_duplicate(actor, duplicate, "different people, same name")
    with pytest.raises(ValidationError):
        merge.merge_duplicate(actor, duplicate)
    with pytest.raises(ValidationError):
        merge.dismiss_duplicate(actor, duplicate)


def test_dismiss_keeps_both_contacts_and_clears_the_flag(pair, actor):
    original, new, _first, second_lead, duplicate = pair
    merge.dismiss_duplicate(actor, duplicate, "Brothers")
    assert Contact.objects.filter(pk__in=[original.pk, new.pk]).count() == 2
    second_lead.refresh_from_db()
    assert second_lead.duplicate_of is None and second_lead.contact == new
    entry = AuditEntry.objects.get(action="lead.duplicate_dismissed")
    assert entry.changes["reason"] == [None, "Brothers"]


def test_merge_screen_shows_both_sides_and_merges_on_post(pair, client_as):
    original, new, _first, second_lead, duplicate = pair
    client = client_as("sales")
    page = client.get(reverse("intake:duplicate_review", args=[duplicate.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "john.smith@acme.example" in html and "jon.smith@acme.example" in html
    assert 'name="field_title"' in html
    response = client.post(
        reverse("intake:duplicate_decide", args=[duplicate.pk]),
        {"action": "merge", "field_first_name": "other"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("intake:lead_detail", args=[second_lead.pk])
    original.refresh_from_db()
    assert original.first_name == "Jon"
    assert not Contact.objects.filter(pk=new.pk).exists()


def test_viewers_may_look_but_not_merge(pair, client_as):
    *_, duplicate = pair
    client = client_as("viewer")
    assert client.get(reverse("intake:duplicate_review", args=[duplicate.pk])).status_code == 200
    response = client.post(
        reverse("intake:duplicate_decide", args=[duplicate.pk]), {"action": "merge"}
    )
    assert response.status_code == 403
    duplicate.refresh_from_db()
    assert duplicate.status == PossibleDuplicate.Status.OPEN
