"""Sales test helpers: records are made through the services, as the app makes them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm import services as crm_services
from throughline.sales.models import ApprovalPolicy
from throughline.sales.services import catalogue, templates
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (browser tests screenshot failures)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit and throttle counters live in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def actor_for(users):
    def make(role: str) -> Actor:
        return Actor(user=users[role], channel=Channel.UI, ip="127.0.0.1")

    return make


@pytest.fixture
def sales_actor(actor_for) -> Actor:
    return actor_for("sales")


@pytest.fixture
def policy(org) -> ApprovalPolicy:
    """The approval rules the tests assume: discounts above 15 %, totals above £50,000."""
    policy = ApprovalPolicy.current()
    policy.max_discount_percent = Decimal("15")
    policy.total_threshold = Decimal("50000")
    policy.threshold_currency = "GBP"
    policy.nonstandard_terms_need_approval = True
    policy.save()
    return policy


@pytest.fixture
def items(actor):
    """A day of consulting at 20 % VAT, a licence at 5 %, a training session zero rated."""
    return {
        "consulting": catalogue.create_item(
            actor,
            name="Consulting day",
            code="CONS-DAY",
            unit="day",
            unit_price="950.00",
            currency="GBP",
            tax_rate="20",
            description="On-site or remote consulting.",
        ),
        "licence": catalogue.create_item(
            actor,
            name="Analytics licence",
            code="LIC",
            kind="product",
            unit="seat",
            unit_price="120.5",
            currency="GBP",
            tax_rate="5",
        ),
        "training": catalogue.create_item(
            actor,
            name="Training session",
            code="TRAIN",
            unit="session",
            unit_price="400",
            currency="GBP",
            tax_rate="0",
            tax_category="Z",
        ),
    }


TEMPLATE_TERMS = "<p>Payment due within 30 days of each invoice. {{ organization.legal_name }} keeps copyright until paid.</p>"


def template_content(items) -> dict:
    return {
        "sections": [
            {
                "title": "Introduction",
                "body": "<p>Dear {{ contact.first_name }}, thank you for considering "
                "{{ organization.name }} for {{ company.name }}.</p>",
            },
            {
                "title": "Approach",
                "body": "<p>We start with a <strong>discovery</strong> workshop.</p>",
            },
        ],
        "lines": [
            templates.line_from_item(items["consulting"], quantity="3"),
            templates.line_from_item(items["licence"], quantity="10", discount_percent="10"),
            templates.line_from_item(items["training"], quantity="1", option="training"),
        ],
        "options": [
            {"key": "training", "title": "Team training", "group": "", "default": False},
        ],
        "in_scope": ["Discovery workshop", "Implementation"],
        "out_of_scope": ["Hardware"],
        "milestones": [
            {"title": "Discovery", "offset_days": 7},
            {"title": "Go-live", "offset_days": 30},
        ],
        "payment_schedule": {
            "kind": "installments",
            "items": [
                {"label": "On signing", "percent": "50", "due": "signing"},
                {"label": "On completion", "percent": "50", "due": "completion"},
            ],
        },
        "terms": TEMPLATE_TERMS,
    }


@pytest.fixture
def approved_template(actor, owner, items):
    template = templates.create_template(
        actor, name="Consulting engagement", currency="GBP", content=template_content(items)
    )
    version = template.versions.get()
    templates.submit_version(actor, version)
    templates.approve_version(Actor(user=owner, channel=Channel.UI), version, "Looks right.")
    return template


@pytest.fixture
def client_contact(actor, users):
    company = crm_services.create_company(
        actor, name="Initech", address="1 Initech Way\nAustin", vat_id="GB123456789"
    )
    return crm_services.create_contact(
        actor,
        first_name="Peter",
        last_name="Gibbons",
        email="peter@initech.example",
        company=company,
        owner=users["sales"],
    )


@pytest.fixture
def deal(sales_actor, client_contact):
    return pipeline_services.create_deal(
        sales_actor,
        title="Initech analytics rollout",
        contact=client_contact,
        value="12000",
        currency="GBP",
    )


@pytest.fixture
def proposal(sales_actor, deal, approved_template, policy):
    return proposal_services.create_proposal(sales_actor, deal, approved_template)


@pytest.fixture
def sent_proposal(sales_actor, proposal):
    proposal_services.send_proposal(sales_actor, proposal)
    proposal.refresh_from_db()
    return proposal


@pytest.fixture
def client_link(sent_proposal):
    """A fresh link for the sent proposal: (raw token, page URL)."""
    import datetime as dt

    from django.urls import reverse

    from throughline.core import public_tokens

    raw = public_tokens.issue_token("proposal", sent_proposal, expires_in=dt.timedelta(days=30))
    return raw, reverse("sales_portal:proposal", args=[raw])


@pytest.fixture
def api(users):
    """``api("sales")`` → an API client with a real token, responses checked against OpenAPI."""
    from tests.api.conftest import CheckedClient
    from throughline.core.services import create_api_token

    cache.clear()
    clients = {}

    def client(role: str = "owner"):
        if role not in clients:
            _token, raw = create_api_token(Actor.cli(), users[role], name=f"{role} token")
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return clients[role]

    yield client
    cache.clear()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
