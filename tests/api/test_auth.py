import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.core.models import ApiToken
from throughline.core.services import create_api_token, revoke_api_token, update_user


def assert_401(response):
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["status"] == 401


@pytest.mark.django_db
def test_missing_token_is_401(anonymous):
    assert_401(anonymous.get("/api/v1/contacts"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    ["Bearer tl_not-a-real-token", "Bearer", "Token abc", "Basic b2xpdmlhOnB3", "Bearer a b"],
)
def test_unknown_or_malformed_token_is_401(anonymous, users, header):
    anonymous.credentials(HTTP_AUTHORIZATION=header)
    assert_401(anonymous.get("/api/v1/contacts"))


@pytest.mark.django_db
def test_revoked_token_is_401(anonymous, users):
    token, raw = create_api_token(Actor.cli(), users["owner"])
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert anonymous.get("/api/v1/contacts").status_code == 200

    revoke_api_token(Actor.cli(), token)

    assert_401(anonymous.get("/api/v1/contacts"))


@pytest.mark.django_db
def test_token_of_a_deactivated_user_is_401(anonymous, users):
    _token, raw = create_api_token(Actor.cli(), users["sales"])
    update_user(Actor.cli(users["owner"]), users["sales"], is_active=False)
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert_401(anonymous.get("/api/v1/contacts"))


@pytest.mark.django_db
def test_scheme_name_is_case_insensitive(anonymous, users):
    _token, raw = create_api_token(Actor.cli(), users["owner"])
    anonymous.credentials(HTTP_AUTHORIZATION=f"bearer {raw}")
    assert anonymous.get("/api/v1/me").status_code == 200


@pytest.mark.django_db
def test_a_staff_session_is_not_an_api_credential(anonymous, users):
    anonymous.force_login(users["owner"])
    assert_401(anonymous.get("/api/v1/contacts"))


@pytest.mark.django_db
def test_last_used_at_is_recorded_at_most_once_a_minute(anonymous, users):
    token, raw = create_api_token(Actor.cli(), users["owner"])
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        anonymous.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == start

    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        anonymous.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == start

    later = start + dt.timedelta(minutes=2)
    with time_machine.travel(later, tick=False):
        anonymous.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at == later


@pytest.mark.django_db
def test_me_names_the_tokens_user_and_role(api):
    body = api("billing").get("/api/v1/me").json()
    assert body["email"] == "bill@example.com"
    assert body["role"] == "billing"
    assert "crm.view" in body["permissions"]
    assert "crm.delete" not in body["permissions"]
    assert ApiToken.objects.filter(user__email="bill@example.com").count() == 1
