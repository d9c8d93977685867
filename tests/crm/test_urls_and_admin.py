"""Every CRM page declares its permission; the admin shows CRM records read-only."""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from throughline.core.access import declared_permission
from throughline.core.models import User
from throughline.crm import urls as crm_urls


def test_every_crm_view_declares_a_crm_permission():
    for pattern in crm_urls.urlpatterns:
        assert declared_permission(pattern.callback) in {"crm.view", "crm.edit", "crm.delete"}, (
            pattern.name
        )
    # And the nav's entry points exist.
    for name in ("crm:contact_list", "crm:company_list", "crm:task_list"):
        assert reverse(name).startswith("/crm/")
    assert get_resolver().resolve("/crm/contacts/").url_name == "contact_list"


@pytest.fixture
def superuser(org):
    return User.objects.create_superuser("root@example.com", "pw-for-admin-tests-1")


def test_admin_lists_contacts_but_offers_no_writes(client, superuser, make_contact):
    contact = make_contact(first_name="Ada", last_name="Lovelace")
    client.force_login(superuser)

    changelist = client.get(reverse("admin:crm_contact_changelist"))
    assert changelist.status_code == 200
    assert "Ada Lovelace" in changelist.text
    assert client.get(reverse("admin:crm_contact_add")).status_code == 403
    change = client.get(reverse("admin:crm_contact_change", args=[contact.pk]))
    assert change.status_code == 200  # a read-only view
    assert 'name="first_name"' not in change.text
    response = client.post(reverse("admin:crm_contact_delete", args=[contact.pk]), {"post": "yes"})
    assert response.status_code == 403
    # Configuration without a service stays editable.
    assert client.get(reverse("admin:crm_tag_add")).status_code == 200
    assert client.get(reverse("admin:crm_customfielddefinition_add")).status_code == 403
