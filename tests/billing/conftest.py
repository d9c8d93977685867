"""Billing fixtures: an organization that can issue EN 16931 invoices, a client, invoices.

Records are made through the services, as the app makes them.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from throughline.billing import services
from throughline.billing.documents import schematron
from throughline.core.models import Organization
from throughline.crm import services as crm

TODAY = dt.date(2025, 3, 14)


@pytest.fixture(scope="session", autouse=True)
def _compiled_rules():
    # Compile the Schematron XSLTs once for the whole run (each takes about a second).
    schematron.warm_up()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _today(time_machine):
    """Billing is about dates: every test starts on TODAY at noon (the clock keeps ticking)."""
    time_machine.move_to(dt.datetime.combine(TODAY, dt.time(12), tzinfo=dt.UTC))


@pytest.fixture
def seller(org) -> Organization:
    """The business, with what EN 16931 asks of a seller (VAT id, address, bank account)."""
    org.legal_name = "Northwind Consulting Ltd"
    org.trading_name = "Northwind"
    org.address_line1 = "12 Market Street"
    org.postal_code = "EC1A 1BB"
    org.city = "London"
    org.country = "GB"
    org.vat_id = "GB123456789"
    org.tax_id = "08123456"
    org.email = "billing@northwind.example"
    org.iban = "GB33BUKB20201555555555"
    org.bic = "BUKBGB22"
    org.base_currency = "GBP"
    org.time_zone = "Europe/London"
    org.save()
    return org


@pytest.fixture
def client_company(actor, seller):
    return crm.create_company(
        actor,
        name="Acme SARL",
        address="2 rue de la Paix\n75002 Paris",
        country="FR",
        vat_id="FR40303265045",
    )


@pytest.fixture
def client_contact(actor, client_company):
    return crm.create_contact(
        actor,
        first_name="Ada",
        last_name="Lovelace",
        email="ada@acme.example",
        company=client_company,
    )


def line(description="Consulting", quantity="1", unit_price="100.00", tax_rate="20", **more):
    return {
        "description": description,
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": tax_rate,
        **more,
    }


@pytest.fixture
def make_invoice(actor, client_contact):
    """``make_invoice(lines=[...], issue=True)`` → a draft or an issued invoice."""

    def make(*, lines=None, issue=False, by=None, contact=None, today=TODAY, **header):
        header.setdefault("currency", "GBP")
        header.setdefault("issue_date", today)
        invoice = services.create_invoice(
            by or actor,
            contact=contact or client_contact,
            lines=lines if lines is not None else [line()],
            **header,
        )
        if issue:
            invoice = services.issue_invoice(by or actor, invoice, today=today)
        return invoice

    return make


def money(value: str) -> Decimal:
    return Decimal(value)


@pytest.fixture
def stripe_standin(settings):
    """The local stand-in for Stripe's API, with billing configured to use it."""
    from tests.billing.stripe_standin import API_KEY, WEBHOOK_SECRET, StripeStandIn

    standin = StripeStandIn().start()
    settings.STRIPE_SECRET_KEY = API_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = standin.base_url
    yield standin
    standin.stop()


@pytest.fixture
def post_webhook(client):
    """``post_webhook(payload, signature=None)`` → the response to POST /hooks/payments/stripe."""
    from tests.billing.stripe_standin import sign

    def post(payload: bytes, signature: str | None = None, gateway: str = "stripe"):
        headers = {"HTTP_STRIPE_SIGNATURE": signature if signature is not None else sign(payload)}
        return client.post(
            f"/hooks/payments/{gateway}", data=payload, content_type="application/json", **headers
        )

    return post


@pytest.fixture
def api(users):
    """``api("billing")`` → an API client with a real token of that persona (default owner).

    JSON answers are checked against the OpenAPI document (tests/api/openapi.py); documents
    (PDF, XML) only against their declared media type.
    """
    from django.core.cache import cache
    from rest_framework.test import APIClient

    from tests.api import openapi
    from throughline.core.actor import Actor
    from throughline.core.services import create_api_token

    cache.clear()  # throttle counters outlive a test

    class CheckedClient(APIClient):
        def request(self, **request):
            response = super().request(**request)
            content_type = response.get("Content-Type", "")
            if "json" in content_type or not response.content:
                openapi.check_response(request["REQUEST_METHOD"], request["PATH_INFO"], response)
            else:
                operation = openapi.operation_for(request["REQUEST_METHOD"], request["PATH_INFO"])
                documented = operation["responses"][str(response.status_code)]["content"]
                assert content_type.split(";")[0] in documented, (content_type, list(documented))
            return response

    clients: dict = {}

    def client(role: str = "owner"):
        if role not in clients:
            _token, raw = create_api_token(Actor.cli(), users[role], name=f"{role} token")
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return clients[role]

    yield client
    cache.clear()


def race(*fns) -> list[BaseException]:
    """Run each of ``fns`` in its own thread (own connection, PostgreSQL), all released at once;
    the errors they raised."""
    start = threading.Barrier(len(fns))
    errors: list[BaseException] = []

    def run(fn) -> None:
        try:
            start.wait(timeout=30)
            fn()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors
