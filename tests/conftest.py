"""Shared fixtures: the organization and a fixed cast of personas, one per role."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization, User
from throughline.core.roles import Role

PASSWORD = "correct horse battery staple 42"

# One persona per role (healthchecks' alice/bob/charlie, extended).
PERSONAS = {
    Role.OWNER: "olivia@example.com",
    Role.ADMIN: "adam@example.com",
    Role.SALES: "sam@example.com",
    Role.DELIVERY: "dana@example.com",
    Role.BILLING: "bill@example.com",
    Role.VIEWER: "vera@example.com",
}


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests run when DATABASE_URL is PostgreSQL; CI sets it, so they run."""
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…); runs in CI")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def org(db) -> Organization:
    org = Organization.current()
    org.legal_name = "Northwind Consulting Ltd"
    org.default_phone_region = "GB"
    org.base_currency = "GBP"
    org.save()
    return org


@pytest.fixture
def users(org) -> dict[str, User]:
    return {
        role: User.objects.create_user(
            email, PASSWORD, role=role, full_name=email.split("@")[0].title()
        )
        for role, email in PERSONAS.items()
    }


@pytest.fixture
def owner(users) -> User:
    return users[Role.OWNER]


@pytest.fixture
def actor(owner) -> Actor:
    return Actor(user=owner, channel=Channel.UI, ip="127.0.0.1")


@pytest.fixture
def client_as(client, users):
    """``client_as("sales")`` → the test client logged in as that persona."""

    def login(role: str):
        client.force_login(users[role])
        return client

    return login


@pytest.fixture
def run_jobs():
    """Run every job that is ready now, like a worker would; returns how many ran."""
    from throughline.core.worker import run_until_idle

    return run_until_idle


@pytest.fixture(autouse=True)
def _no_outbound_network(monkeypatch):
    # Tests talk only to servers they start on loopback.
    monkeypatch.setenv("NO_PROXY", "*")
    os.environ.pop("HTTP_PROXY", None)
    os.environ.pop("HTTPS_PROXY", None)
