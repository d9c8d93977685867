"""Intake fixtures: capturing through the real service, API clients checked against OpenAPI."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.api import openapi
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.core.roles import Role
from throughline.core.services import create_api_token
from throughline.crm import services as crm
from throughline.intake.capture import LeadInput, capture_lead


@pytest.fixture
def api_actor(owner) -> Actor:
    return Actor(user=owner, channel=Channel.API, ip="203.0.113.7")


@pytest.fixture
def capture(api_actor):
    """``capture(email=…, first_name=…)`` → CaptureResult, through ``capture_lead``."""

    def run(by: Actor | None = None, **data):
        data.setdefault("channel", "api")
        return capture_lead(by or api_actor, LeadInput(**data))

    return run


@pytest.fixture
def make_contact(actor):
    def make(**data):
        return crm.create_contact(actor, **data)

    return make


@pytest.fixture
def make_company(actor):
    def make(**data):
        return crm.create_company(actor, **data)

    return make


@pytest.fixture
def sales(users):
    return users[Role.SALES]


class CheckedClient(APIClient):
    """An APIClient whose every response must match the OpenAPI document."""

    def request(self, **request):
        response = super().request(**request)
        openapi.check_response(request["REQUEST_METHOD"], request["PATH_INFO"], response)
        return response


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(users):
    """``api("sales")`` → a client with a real token of that persona (default: owner)."""
    clients: dict[str, CheckedClient] = {}

    def client(role: str = "owner") -> CheckedClient:
        if role not in clients:
            _token, raw = create_api_token(Actor.cli(), users[role], name=f"{role} token")
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return clients[role]

    return client
