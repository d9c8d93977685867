"""Signing in and out, lockout after repeated failures, password reset and change."""

from __future__ import annotations

import re

import pytest
from axes.utils import reset as axes_reset
from django.conf import settings
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD
from throughline.core import services
from throughline.core.models import AuditEntry, User
from throughline.core.roles import Role


@pytest.fixture(autouse=True)
def _fresh_axes(db):
    # Failed-attempt counters must not leak from one test into the next.
    axes_reset()
    yield
    axes_reset()


def login(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_login_page_has_the_fields_scripts_fill(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert 'autocomplete="current-password"' in html
    assert reverse("password_reset") in html


def test_login_with_email_and_password_then_logout(client, users):
    # when
    response = login(client, "olivia@example.com", PASSWORD)
    # then
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    # logging out is a POST; a link (GET) cannot do it
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_shows_an_error_and_stays_signed_out(client, users):
    response = login(client, "olivia@example.com", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_login_follows_a_safe_next_only(client, users):
    response = client.post(
        reverse("login") + "?next=/settings/",
        {"username": "olivia@example.com", "password": PASSWORD, "next": "/settings/"},
    )
    assert response["Location"] == "/settings/"
    client.post(reverse("logout"))
    response = client.post(
        reverse("login"),
        {"username": "olivia@example.com", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("home")


def test_deactivated_user_cannot_sign_in(client, users, actor):
    services.update_user(actor, users[Role.SALES], is_active=False)
    response = login(client, "sam@example.com", PASSWORD)
    assert response.status_code == 200
    assert client.get(reverse("home")).status_code == 302


def test_lockout_after_repeated_failures_even_with_the_right_password(client, users):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert login(client, "vera@example.com", "nope").status_code == 200
    # the limit-th failure locks the account for this address
    response = login(client, "vera@example.com", "nope")
    assert response.status_code == 429
    # then: even the right password is refused, with our page
    response = login(client, "vera@example.com", PASSWORD)
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many sign-in attempts" in html and "vera@example.com" in html
    assert client.get(reverse("home")).status_code == 302
    # another account from the same address is not affected
    assert login(client, "sam@example.com", PASSWORD).status_code == 302


def test_lockout_lifts_after_reset(client, users):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, "vera@example.com", "nope")
    assert login(client, "vera@example.com", PASSWORD).status_code == 429
    axes_reset(username="vera@example.com")
    assert login(client, "vera@example.com", PASSWORD).status_code == 302


def _link_path(body: str) -> str:
    match = re.search(r"https?://[^/\s]+(/reset/\S+/)", body)
    assert match, body
    return match.group(1)


def test_password_reset_by_email_end_to_end(client, users):
    # when: ask for a link
    response = client.post(reverse("password_reset"), {"email": "Sam@Example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    # then: one e-mail, to the user, with a link built from BASE_URL
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.com"]
    assert settings.BASE_URL + "/reset/" in message.body
    # when: follow the link and choose a password
    response = client.get(_link_path(message.body))
    assert response.status_code == 302  # Django moves the token into the session
    set_url = response["Location"]
    assert "Choose a new password" in client.get(set_url).content.decode()
    new_password = "a brand new passphrase 77"
    response = client.post(set_url, {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302 and response["Location"] == reverse(
        "password_reset_complete"
    )
    # then: the new password works, the old one does not, and it is audited
    assert User.objects.get(email="sam@example.com").check_password(new_password)
    entry = AuditEntry.objects.filter(action="user.password_changed").latest("seq")
    assert entry.object_id == str(users[Role.SALES].pk)
    assert entry.changes == {"password": [None, "reset"]}
    assert entry.actor == users[Role.SALES]
    # the link works once
    response = client.get(_link_path(message.body))
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()


def test_password_reset_for_unknown_address_says_the_same_and_sends_nothing(client, users):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_invited_user_without_a_password_can_use_reset(client, actor, users):
    services.create_user(actor, email="new@example.com", role=Role.VIEWER)
    client.post(reverse("password_reset"), {"email": "new@example.com"})
    assert len(mail.outbox) == 1


def test_password_change_is_audited(client, users):
    client.force_login(users[Role.BILLING])
    new_password = "another strong passphrase 9"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert User.objects.get(pk=users[Role.BILLING].pk).check_password(new_password)
    # still signed in (session hash updated)
    assert client.get(reverse("home")).status_code == 200
    assert AuditEntry.objects.filter(
        action="user.password_changed", object_id=str(users[Role.BILLING].pk)
    ).exists()


def test_password_change_with_wrong_old_password_changes_nothing(client, users):
    client.force_login(users[Role.BILLING])
    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    assert response.status_code == 200
    assert User.objects.get(pk=users[Role.BILLING].pk).check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="user.password_changed").exists()


def test_email_is_matched_case_insensitively_and_shares_one_lockout(client, users):
    assert login(client, "  Sam@Example.COM ", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, "VERA@example.com" if n % 2 else "vera@example.com", "nope")
    assert login(client, "Vera@Example.com", PASSWORD).status_code == 429
