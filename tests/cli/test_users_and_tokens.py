"""``createuser`` and ``token create``: the CLI's way in for people and integrations."""

from __future__ import annotations

import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIRequestFactory

from throughline.api.auth import BearerTokenAuthentication
from throughline.core.models import ApiToken, AuditEntry, User
from throughline.core.services import hash_token


class _Terminal(StringIO):
    """stdin as a person at a terminal (nothing piped in)."""

    def isatty(self) -> bool:
        return True


def createuser(monkeypatch, *args: str, stdin: StringIO) -> str:
    monkeypatch.setattr(sys, "stdin", stdin)
    out = StringIO()
    call_command("createuser", *args, stdout=out)
    return out.getvalue()


def test_createuser_reads_the_password_from_stdin(db, monkeypatch):
    output = createuser(
        monkeypatch,
        "--email", "Nina@Example.com", "--role", "sales", "--name", "Nina Berg",
        stdin=StringIO("a long piped passphrase 91\n"),
    )  # fmt: skip
    user = User.objects.get(email="nina@example.com")
    assert user.role == "sales" and user.full_name == "Nina Berg"
    assert user.check_password("a long piped passphrase 91")
    assert "password" not in output  # nothing to show: the caller chose it
    assert AuditEntry.objects.filter(action="user.created", object_id=str(user.pk)).exists()


def test_createuser_generates_and_prints_a_password_at_a_terminal(db, monkeypatch):
    output = createuser(
        monkeypatch, "--email", "omar@example.com", "--role", "billing", stdin=_Terminal()
    )
    password = output.strip().splitlines()[-1].removeprefix("password: ")
    assert len(password) >= 12
    assert User.objects.get(email="omar@example.com").check_password(password)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@example.com", "--role", "emperor"], "invalid choice"),
        (["--email", "not-an-address", "--role", "viewer"], "email"),
    ],
)
def test_createuser_refuses_bad_input(db, monkeypatch, args, message):
    with pytest.raises(CommandError, match=message):
        createuser(monkeypatch, *args, stdin=_Terminal())
    assert not User.objects.exists()


def test_createuser_refuses_a_weak_or_duplicate_user(db, monkeypatch, users):
    with pytest.raises(CommandError, match="password"):
        createuser(
            monkeypatch, "--email", "w@example.com", "--role", "viewer", stdin=StringIO("12345\n")
        )
    with pytest.raises(CommandError, match="exists"):
        createuser(monkeypatch, "--email", "sam@example.com", "--role", "sales", stdin=_Terminal())


def test_token_create_prints_a_working_token_on_the_last_line(users):
    # when
    out = StringIO()
    call_command("token", "create", "--user", "sam@example.com", "--name", "Zapier", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    # then: only its hash is stored, for the right user
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert token.user.email == "sam@example.com" and token.name == "Zapier"
    assert raw not in {token.prefix, token.token_hash}
    # and the API's authentication accepts it
    request = APIRequestFactory().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    user, authenticated_token = BearerTokenAuthentication().authenticate(request)
    assert user.email == "sam@example.com" and authenticated_token == token
    assert AuditEntry.objects.filter(action="api_token.created", object_id=str(token.pk)).exists()


def test_token_create_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="No active user"):
        call_command("token", "create", "--user", "nobody@example.com", stdout=StringIO())
