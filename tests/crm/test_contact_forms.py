"""Creating and editing contacts through the UI: service validation shown per field."""

from __future__ import annotations

from django.urls import reverse

from throughline.core.models import AuditEntry, DomainEvent
from throughline.crm.models import Contact, CustomFieldDefinition

CREATE = reverse("crm:contact_create")


def test_create_contact_with_tags_and_company(client_as, make_company, owner):
    acme = make_company(name="Acme")
    client = client_as("owner")

    form = client.get(CREATE)
    assert form.status_code == 200
    for name in ("first_name", "last_name", "email", "phone", "company", "owner", "tags"):
        assert f'name="{name}"' in form.text
        assert f'for="id_{name}"' in form.text  # every input has a label

    response = client.post(
        CREATE,
        {
            "first_name": "ada",
            "last_name": "lovelace",
            "email": "Ada@Example.com",
            "phone": "020 7946 0958",
            "company": str(acme.pk),
            "owner": str(owner.pk),
            "tags": "vip, speaker ,",
        },
    )
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:contact_detail", args=[contact.pk])
    assert (contact.first_name, contact.last_name) == ("Ada", "Lovelace")
    assert contact.email_normalized == "ada@example.com"
    assert contact.phone == "+442079460958"
    assert contact.company == acme
    assert sorted(t.name for t in contact.tags.all()) == ["speaker", "vip"]
    entry = AuditEntry.objects.get(action="contact.created", object_id=str(contact.pk))
    assert entry.channel == "ui"
    assert entry.actor == owner

    detail = client.get(response["Location"])
    assert "Contact “Ada Lovelace” created." in detail.text


def test_invalid_email_shows_the_field_error_and_writes_nothing(client_as):
    client = client_as("sales")
    audit_before = AuditEntry.objects.count()
    events_before = DomainEvent.objects.count()

    response = client.post(CREATE, {"first_name": "Ada", "email": "ada@@example"})

    assert response.status_code == 200
    form = response.context["form"]
    assert "email" in form.errors
    assert "first_name" not in form.errors
    # The message sits with the e-mail input, and the input points at it for screen readers.
    assert 'id="id_email_error"' in response.text
    assert 'aria-invalid="true"' in response.text
    assert 'value="ada@@example"' in response.text  # what they typed is kept
    assert Contact.objects.count() == 0
    assert AuditEntry.objects.count() == audit_before
    assert DomainEvent.objects.count() == events_before


def test_duplicate_email_and_bad_phone_are_field_errors(client_as, make_contact):
    make_contact(first_name="First", email="taken@example.com")
    response = client_as("owner").post(
        CREATE, {"first_name": "Second", "email": "TAKEN@example.com", "phone": "12"}
    )
    errors = response.context["form"].errors
    assert "already has this e-mail" in errors["email"][0]
    assert "phone" in errors
    assert Contact.objects.count() == 1


def test_empty_contact_is_a_form_level_error(client_as):
    response = client_as("owner").post(CREATE, {})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "Give at least a name" in response.text
    assert Contact.objects.count() == 0


def test_custom_fields_render_typed_and_validate(client_as):
    CustomFieldDefinition.objects.create(
        entity="contact", key="budget", label="Budget", kind="number"
    )
    CustomFieldDefinition.objects.create(
        entity="contact", key="met_on", label="First met", kind="date", required=True
    )
    CustomFieldDefinition.objects.create(
        entity="contact", key="tier", label="Tier", kind="choice", choices=["gold", "silver"]
    )
    CustomFieldDefinition.objects.create(
        entity="contact", key="newsletter", label="Newsletter", kind="boolean"
    )
    CustomFieldDefinition.objects.create(
        entity="company", key="industry", label="Industry", kind="text"
    )
    client = client_as("owner")

    form = client.get(CREATE).text
    assert 'type="number" name="custom_budget"' in form
    assert 'type="date" name="custom_met_on"' in form
    assert '<select name="custom_tier"' in form
    assert 'type="checkbox" name="custom_newsletter"' in form
    assert "custom_industry" not in form  # a company field does not show on contacts

    missing = client.post(CREATE, {"first_name": "Ada", "custom_budget": "lots"})
    errors = missing.context["form"].errors
    assert "custom_met_on" in errors  # required (form and service agree)
    assert Contact.objects.count() == 0

    bad_number = client.post(
        CREATE, {"first_name": "Ada", "custom_budget": "lots", "custom_met_on": "2024-05-01"}
    )
    assert "Must be a number." in bad_number.context["form"].errors["custom_budget"][0]
    assert Contact.objects.count() == 0

    ok = client.post(
        CREATE,
        {
            "first_name": "Ada",
            "custom_budget": "1500.50",
            "custom_met_on": "2024-05-01",
            "custom_tier": "gold",
            "custom_newsletter": "on",
        },
    )
    assert ok.status_code == 302
    contact = Contact.objects.get()
    assert contact.custom == {
        "budget": "1500.50",
        "met_on": "2024-05-01",
        "tier": "gold",
        "newsletter": True,
    }
    detail = client.get(ok["Location"]).text
    assert "Budget" in detail and "1500.50" in detail
    assert "Newsletter" in detail and "Yes" in detail


def test_edit_contact_prefills_and_saves_changes(client_as, make_contact):
    contact = make_contact(first_name="Ada", last_name="Lovelace", tags=["vip"])
    client = client_as("owner")
    url = reverse("crm:contact_edit", args=[contact.pk])

    page = client.get(url)
    assert 'value="Ada"' in page.text
    assert 'value="vip"' in page.text

    response = client.post(
        url,
        {
            "first_name": "Ada",
            "last_name": "King",
            "email": "ada@example.com",
            "tags": "vip, board",
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.last_name == "King"
    assert sorted(t.name for t in contact.tags.all()) == ["board", "vip"]
    entry = AuditEntry.objects.get(action="contact.updated", object_id=str(contact.pk))
    assert entry.changes["last_name"] == ["Lovelace", "King"]


def test_edit_with_invalid_email_keeps_the_record(client_as, make_contact):
    contact = make_contact(first_name="Ada", email="ada@example.com")
    response = client_as("owner").post(
        reverse("crm:contact_edit", args=[contact.pk]), {"first_name": "Ada", "email": "nope"}
    )
    assert "email" in response.context["form"].errors
    contact.refresh_from_db()
    assert contact.email == "ada@example.com"


def test_sales_limited_to_own_cannot_hand_a_contact_away(
    client_as, make_contact, actor_for, users, sales_own_only
):
    contact = make_contact(actor_for("sales"), first_name="Mine")
    response = client_as("sales").post(
        reverse("crm:contact_edit", args=[contact.pk]),
        {"first_name": "Mine", "owner": str(users["owner"].pk)},
    )
    assert "owner" in response.context["form"].errors
    contact.refresh_from_db()
    assert contact.owner == users["sales"]
