"""API fixtures: a client per persona with a real token; every response checked against OpenAPI."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api import openapi
from throughline.core.actor import Actor
from throughline.core.services import create_api_token


class CheckedClient(APIClient):
    """An APIClient that validates every response against the OpenAPI document."""

    def request(self, **request):
        response = super().request(**request)
        openapi.check_response(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response


@pytest.fixture(autouse=True)
def _fresh_throttles():
    # Throttle counters live in the cache, which outlives a test; user ids are reused.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def anonymous():
    return CheckedClient()


@pytest.fixture
def token_for(users):
    """``token_for("sales")`` → a raw API token for that persona."""

    def make(role: str) -> str:
        _token, raw = create_api_token(Actor.cli(), users[role], name=f"{role} test token")
        return raw

    return make


@pytest.fixture
def api(token_for):
    """``api("sales")`` → a client authenticated with a token of that persona (default: owner)."""
    clients: dict[str, CheckedClient] = {}

    def client(role: str = "owner") -> CheckedClient:
        if role not in clients:
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(role)}")
        return clients[role]

    return client
