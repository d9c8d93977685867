"""The users page: add, change role, deactivate; through core.services, audited."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from throughline.core.models import AuditEntry, User
from throughline.core.roles import Role


@pytest.fixture
def owner_client(client, users):
    client.force_login(users[Role.OWNER])
    return client


def test_list_shows_everyone_with_role_and_two_factor(owner_client, users):
    response = owner_client.get(reverse("core:user_list"))
    html = response.content.decode()
    assert response.status_code == 200
    for user in users.values():
        assert user.email in html
    assert "Require a second factor" in html


def test_add_user_with_a_generated_password_shown_once(owner_client, client):
    response = owner_client.post(
        reverse("core:user_create"),
        {"email": "Nia@Example.com", "full_name": "Nia", "role": "billing", "sign_in": "generate"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    user = User.objects.get(email="nia@example.com")
    password = re.search(r"data-copy>([^<]+)<", response.content.decode()).group(1)
    assert user.check_password(password) and user.role == Role.BILLING
    entry = AuditEntry.objects.get(action="user.created")
    assert entry.changes == {"email": [None, "nia@example.com"], "role": [None, "billing"]}
    assert password not in str(entry.changes)
    assert mail.outbox == []


def test_add_user_by_invitation_email_with_a_working_link(owner_client, client):
    response = owner_client.post(
        reverse("core:user_create"),
        {"email": "ivan@example.com", "full_name": "Ivan", "role": "delivery", "sign_in": "invite"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="ivan@example.com")
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ivan@example.com"]
    link = re.search(r"https?://[^/\s]+(/reset/\S+/)", mail.outbox[0].body).group(1)
    # the invitee follows the link in their own browser
    owner_client.post(reverse("logout"))
    set_url = client.get(link)["Location"]
    password = "ivan's own passphrase 2024"
    response = client.post(set_url, {"new_password1": password, "new_password2": password})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).check_password(password)


def test_add_user_errors_per_field(owner_client, users):
    response = owner_client.post(
        reverse("core:user_create"),
        {"email": "sam@example.com", "role": "sales", "sign_in": "generate"},
    )
    assert response.status_code == 400
    assert "exists" in response.context["form"].errors["email"][0]
    assert User.objects.count() == len(users)


def test_role_change_is_audited(owner_client, users):
    sam = users[Role.SALES]
    response = owner_client.post(
        reverse("core:user_edit", args=[sam.pk]),
        {"full_name": sam.full_name, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 302
    sam.refresh_from_db()
    assert sam.role == Role.ADMIN
    entry = AuditEntry.objects.get(action="user.updated")
    assert entry.object_id == str(sam.pk)
    assert entry.changes["role"] == ["sales", "admin"]
    assert entry.actor == users[Role.OWNER]


def test_the_last_owner_cannot_be_demoted(owner_client, users):
    olivia = users[Role.OWNER]
    response = owner_client.post(
        reverse("core:user_edit", args=[olivia.pk]),
        {"full_name": olivia.full_name, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 400
    assert "last owner" in response.context["form"].errors["role"][0]
    olivia.refresh_from_db()
    assert olivia.role == Role.OWNER
    assert not AuditEntry.objects.filter(action="user.updated").exists()


def test_an_owner_can_step_down_when_another_owner_exists(client, users):
    adam = users[Role.ADMIN]
    client.force_login(users[Role.OWNER])
    client.post(reverse("core:user_edit", args=[adam.pk]), {"role": "owner", "is_active": "on"})
    olivia = users[Role.OWNER]
    response = client.post(
        reverse("core:user_edit", args=[olivia.pk]), {"role": "admin", "is_active": "on"}
    )
    assert response.status_code == 302
    olivia.refresh_from_db()
    assert olivia.role == Role.ADMIN


def test_deactivate_user_signs_them_out(owner_client, users, client_as):
    dana = users[Role.DELIVERY]
    response = owner_client.post(reverse("core:user_edit", args=[dana.pk]), {"role": "delivery"})
    assert response.status_code == 302
    dana.refresh_from_db()
    assert not dana.is_active
    assert AuditEntry.objects.get(action="user.updated").changes["is_active"] == [True, False]
    from django.test import Client

    other = Client()
    other.force_login(dana)
    assert other.get(reverse("home")).status_code == 302  # inactive users are not signed in


def test_nobody_deactivates_themselves(owner_client, users):
    olivia = users[Role.OWNER]
    response = owner_client.post(reverse("core:user_edit", args=[olivia.pk]), {"role": "owner"})
    assert response.status_code == 400
    olivia.refresh_from_db()
    assert olivia.is_active


def test_only_users_manage_may_touch_users(client, users):
    client.force_login(users[Role.SALES])
    vera = users[Role.VIEWER]
    assert client.get(reverse("core:user_list")).status_code == 403
    response = client.post(
        reverse("core:user_edit", args=[vera.pk]), {"role": "owner", "is_active": "on"}
    )
    assert response.status_code == 403
    vera.refresh_from_db()
    assert vera.role == Role.VIEWER
    assert (
        client.post(reverse("core:require_two_factor"), {"require_two_factor": "on"}).status_code
        == 403
    )
