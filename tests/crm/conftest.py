"""CRM test helpers: records are made through the services, as the app makes them."""

from __future__ import annotations

import pytest

from throughline.core.actor import Actor
from throughline.core.models import Channel, Organization
from throughline.crm import services


@pytest.fixture
def actor_for(users):
    def make(role: str) -> Actor:
        return Actor(user=users[role], channel=Channel.UI, ip="127.0.0.1")

    return make


@pytest.fixture
def make_contact(actor):
    def make(by: Actor | None = None, **data):
        return services.create_contact(by or actor, **data)

    return make


@pytest.fixture
def make_company(actor):
    def make(by: Actor | None = None, **data):
        return services.create_company(by or actor, **data)

    return make


@pytest.fixture
def sales_own_only(org):
    org.sales_own_records_only = True
    org.save(update_fields=["sales_own_records_only"])
    assert Organization.current().sales_own_records_only
    return org
