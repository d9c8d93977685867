"""Automation test helpers: records and workflows are made through the services."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import transaction

from throughline.automation.workflows import services as workflows
from throughline.core.worker import Worker
from throughline.crm import services as crm
from throughline.crm.models import CustomFieldDefinition
from throughline.messaging.models import EmailTemplate, Kind

LONDON = zoneinfo.ZoneInfo("Europe/London")


def london(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


@pytest.fixture
def london_org(org):
    """Working hours Monday–Friday 09:00–17:00, in London."""
    org.time_zone = "Europe/London"
    org.working_hours = {str(day): ["09:00", "17:00"] for day in range(1, 6)}
    org.save()
    return org


@pytest.fixture
def make_contact(actor):
    def make(**data):
        return crm.create_contact(actor, **data)

    return make


@pytest.fixture
def welcome_template(db):
    return EmailTemplate.objects.create(
        key="welcome",
        name="Welcome",
        kind=Kind.TRANSACTIONAL,
        subject="Welcome, {{ contact.first_name }}",
        body_text="Hello {{ contact.first_name }}, {{ organization }} is glad to meet you.",
    )


@pytest.fixture
def newsletter_template(db):
    return EmailTemplate.objects.create(
        key="newsletter",
        name="Newsletter",
        kind=Kind.MARKETING,
        subject="News for {{ contact.first_name }}",
        body_text="What is new this month.",
    )


@pytest.fixture
def size_field(db):
    return CustomFieldDefinition.objects.create(
        entity="contact", key="size", label="Company size", kind="number"
    )


@pytest.fixture
def make_workflow(actor):
    def make(key: str = "wf", *, name: str = "", active: bool = True, **definition):
        definition.setdefault("subject", "crm.contact")
        return workflows.create_workflow(
            actor, key=key, name=name or key.title(), definition=definition, is_active=active
        )

    return make


@pytest.fixture
def run_queue():
    """Run the ready jobs of some queues only (``run_queue("events")``)."""

    def run(*queues: str) -> int:
        return Worker(
            queues=list(queues), exit_when_idle=True, sweeps=False, heartbeat_every=None
        ).run()

    return run


@pytest.fixture
def in_transaction():
    """Services that emit events need a transaction around direct calls in a test."""
    return transaction.atomic
