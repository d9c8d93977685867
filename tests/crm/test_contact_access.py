"""Who may do what with contacts: permissions per role and "sales see only their own"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from throughline.core.models import AuditEntry
from throughline.crm.models import Contact


@pytest.mark.parametrize("role", ["owner", "admin", "sales", "delivery", "billing", "viewer"])
def test_every_role_can_list_and_open_contacts(client_as, make_contact, role):
    contact = make_contact(first_name="Ada", last_name="Lovelace")
    client = client_as(role)
    assert client.get(reverse("crm:contact_list")).status_code == 200
    assert client.get(reverse("crm:contact_detail", args=[contact.pk])).status_code == 200


def test_viewer_can_read_but_not_create_edit_or_log(client_as, make_contact):
    contact = make_contact(first_name="Ada", last_name="Lovelace")
    client = client_as("viewer")

    page = client.get(reverse("crm:contact_list"))
    assert reverse("crm:contact_create") not in page.text  # no button they cannot use

    assert client.get(reverse("crm:contact_create")).status_code == 403
    response = client.post(reverse("crm:contact_create"), {"first_name": "Sneaky"})
    assert response.status_code == 403
    assert not Contact.objects.filter(first_name="Sneaky").exists()
    assert client.get(reverse("crm:contact_edit", args=[contact.pk])).status_code == 403
    note = reverse("crm:contact_log_activity", args=[contact.pk, "note"])
    assert client.post(note, {"note-body": "hi"}).status_code == 403
    assert not contact.activities.exists()
    # The refusal is audited.
    assert AuditEntry.objects.filter(action="access.denied", actor__role="viewer").exists()


def test_only_roles_with_delete_may_delete(client_as, make_contact):
    contact = make_contact(first_name="Ada", last_name="Lovelace")
    url = reverse("crm:contact_delete", args=[contact.pk])

    assert client_as("sales").post(url).status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()

    client = client_as("admin")
    confirm = client.get(url)
    assert confirm.status_code == 200
    assert "Delete Ada Lovelace?" in confirm.text
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:contact_list")
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditEntry.objects.filter(action="contact.deleted", object_id=str(contact.pk)).exists()


def test_sales_see_only_their_own_contacts_when_the_org_says_so(
    client_as, make_contact, actor_for, sales_own_only
):
    mine = make_contact(actor_for("sales"), first_name="Mine", last_name="Own")
    theirs = make_contact(actor_for("owner"), first_name="Not", last_name="Mine")
    client = client_as("sales")

    listed = client.get(reverse("crm:contact_list")).context["page"].object_list
    assert [c.pk for c in listed] == [mine.pk]
    assert client.get(reverse("crm:contact_detail", args=[mine.pk])).status_code == 200
    # Another user's contact is "not found", exactly like one that does not exist.
    for name in ("crm:contact_detail", "crm:contact_edit"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
    log = reverse("crm:contact_log_activity", args=[theirs.pk, "note"])
    assert client.post(log, {"note-body": "peek"}).status_code == 404
    assert not theirs.activities.exists()

    # The owner still sees both.
    everyone = client_as("owner").get(reverse("crm:contact_list")).context["page"]
    assert {c.pk for c in everyone.object_list} == {mine.pk, theirs.pk}


def test_sales_see_everything_when_not_limited(client_as, make_contact, actor_for, org):
    assert not org.sales_own_records_only
    theirs = make_contact(actor_for("owner"), first_name="Shared", last_name="Record")
    client = client_as("sales")
    assert client.get(reverse("crm:contact_detail", args=[theirs.pk])).status_code == 200


def test_unknown_contact_is_404(client_as):
    url = reverse("crm:contact_detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client_as("owner").get(url).status_code == 404
