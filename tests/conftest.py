"""Shared fixtures: the organization and a fixed cast of personas, one per role."""

from __future__ import annotations

import os
from pathlib import Path

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


class _Inbox:
    """Messages received by the loopback SMTP server, as parsed e-mail objects."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append({"envelope": envelope, "message": message})
        return "250 Message accepted for delivery"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback; the app's e-mail goes to it."""
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture(autouse=True)
def _fresh_content_type_cache():
    """Transactional tests flush the database, which re-creates content types with new ids;
    a cache filled by an earlier test would then point at rows that no longer exist."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()
    yield
    ContentType.objects.clear_cache()


# Data migrations whose rows a transactional test's flush removes (Django truncates every table
# between such tests). Their forward functions are idempotent; re-running them restores what a
# real installation always has (the default pipeline, lead sources, acknowledgement template).
SEED_MIGRATIONS = [
    ("throughline.sales.migrations.0002_default_pipeline", "create_defaults"),
    ("throughline.intake.migrations.0002_default_sources_and_acknowledgement", "forwards"),
    ("throughline.intake.scoring.migrations.0002_qualification_email_templates", "forwards"),
    ("throughline.delivery.migrations.0002_email_templates", "forwards"),
    ("throughline.reports.migrations.0002_weekly_review_email", "forwards"),
]


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or {"transactional_db", "live_server"} & set(request.fixturenames)
    )


@pytest.fixture(autouse=True)
def _seed_data_after_flush(request):
    if not _is_transactional(request):
        yield
        return
    import importlib

    from django.apps import apps

    request.getfixturevalue("transactional_db")
    for module, function in SEED_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)
    yield


# --- A real browser -------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's, installed by `make test` (scripts/system-deps)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(monkeypatch):
    """Debian's Chromium driven by Playwright (no ``playwright install``, no download).

    A missing browser fails the test rather than skipping it: `make test` installs it.
    """
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make system-deps`"
    from playwright.sync_api import sync_playwright

    # TRICKY: the sync API runs an asyncio loop in this thread, and Django refuses ORM calls
    # from a thread with a running loop. The test's own ORM calls are plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
