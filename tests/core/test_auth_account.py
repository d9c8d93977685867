"""The own-account page: name, and API tokens shown once and revocable."""

from __future__ import annotations

from django.urls import reverse

from throughline.core.models import ApiToken, AuditEntry, User
from throughline.core.roles import Role
from throughline.core.services import hash_token


def test_account_page_saves_the_name_through_the_service(client, users):
    client.force_login(users[Role.VIEWER])
    response = client.post(reverse("core:account"), {"full_name": "  Vera Viewer "})
    assert response.status_code == 302
    assert User.objects.get(pk=users[Role.VIEWER].pk).full_name == "Vera Viewer"
    assert AuditEntry.objects.filter(
        action="user.updated", object_id=str(users[Role.VIEWER].pk)
    ).exists()


def test_token_value_is_shown_once_and_only_its_hash_is_kept(client, users):
    sales = users[Role.SALES]
    client.force_login(sales)
    # when
    response = client.post(reverse("core:token_create"), {"name": "Website form"})
    # then: the raw value is on this page, and works as the stored hash
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=sales)
    html = response.content.decode()
    raw = html.split("data-copy>", 1)[1].split("<", 1)[0]
    assert raw.startswith(token.prefix) and hash_token(raw) == token.token_hash
    # and never again
    assert raw not in client.get(reverse("core:account")).content.decode()
    assert AuditEntry.objects.filter(action="api_token.created", object_id=str(token.pk)).exists()


def test_revoke_own_token_only(client, users):
    client.force_login(users[Role.SALES])
    client.post(reverse("core:token_create"), {"name": "mine"})
    mine = ApiToken.objects.get(user=users[Role.SALES])
    client.force_login(users[Role.BILLING])
    # someone else's token: not found, untouched
    assert client.post(reverse("core:token_revoke", args=[mine.pk])).status_code == 404
    mine.refresh_from_db()
    assert mine.is_active
    client.force_login(users[Role.SALES])
    assert client.post(reverse("core:token_revoke", args=[mine.pk])).status_code == 302
    mine.refresh_from_db()
    assert not mine.is_active
    assert AuditEntry.objects.filter(action="api_token.revoked", object_id=str(mine.pk)).exists()


def test_viewer_has_no_tokens_section_and_cannot_create(client, users):
    client.force_login(users[Role.VIEWER])
    assert "API tokens" not in client.get(reverse("core:account")).content.decode()
    assert client.post(reverse("core:token_create"), {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()
