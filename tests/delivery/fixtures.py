"""Delivery fixtures: an accepted proposal made through sales' services, its contract drafted
through signing's, ``contract.signed`` emitted the way signing's sealing emits it, and a
project template with onboarding, QA and offboarding checklists."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm import services as crm_services
from throughline.delivery.models import Project
from throughline.delivery.services import templates as project_templates
from throughline.sales.models import ApprovalPolicy
from throughline.sales.services import acceptance, catalogue
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services
from throughline.sales.services import templates as proposal_templates
from throughline.signing.services import contracts
from throughline.signing.services.sealing import commercial_facts

TEMPLATE_CONTENT = {
    "milestones": [
        {
            "title": "Discovery",
            "offset_days": 10,
            "tasks": ["Interview stakeholders", "Write findings"],
            "qa": ["Findings reviewed by a second consultant"],
        },
        {
            "title": "Go-live",
            "offset_days": 30,
            "tasks": ["Deploy"],
            "qa": ["Smoke test passed", "Client sign-off checklist prepared"],
        },
    ],
    "onboarding": [
        {"title": "Collect system access", "owner_role": "delivery", "due_offset_days": 2},
        {
            "title": "Set up the deposit invoice check",
            "owner_role": "billing",
            "due_offset_days": 1,
        },
        {"title": "Kick-off call", "owner_role": "", "due_offset_days": 3},
    ],
    "offboarding": [
        {"title": "Revoke system access", "owner_role": "delivery", "due_offset_days": 1},
        {"title": "Archive the project folder", "owner_role": "", "due_offset_days": 5},
    ],
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sales_actor(users) -> Actor:
    return Actor(user=users["sales"], channel=Channel.UI, ip="127.0.0.1")


@pytest.fixture
def delivery_actor(users) -> Actor:
    return Actor(user=users["delivery"], channel=Channel.UI, ip="127.0.0.1")


@pytest.fixture
def peter(actor, users):
    company = crm_services.create_company(actor, name="Initech")
    return crm_services.create_contact(
        actor,
        first_name="Peter",
        last_name="Gibbons",
        email="peter@initech.example",
        company=company,
        owner=users["sales"],
    )


@pytest.fixture
def project_template(actor):
    return project_templates.create_template(
        actor, name="Consulting delivery", content=TEMPLATE_CONTENT
    )


def accept_proposal(actor, sales_actor, contact, *, schedule=None, title="Initech rollout"):
    policy = ApprovalPolicy.current()
    policy.max_discount_percent, policy.total_threshold = Decimal("50"), None
    policy.nonstandard_terms_need_approval = False
    policy.save()
    item = catalogue.create_item(
        actor,
        name=f"Consulting day {title}",
        unit="day",
        unit_price="950.00",
        currency="GBP",
        tax_rate="20",
    )
    template = proposal_templates.create_template(
        actor,
        name=f"Engagement {title}",
        currency="GBP",
        content={
            "sections": [{"title": "Approach", "body": "<p>Dear {{ contact.first_name }}.</p>"}],
            "lines": [proposal_templates.line_from_item(item, quantity="4")],
            "in_scope": ["Discovery workshop", "Rollout to two offices"],
            "out_of_scope": ["Hardware"],
            "terms": "<p>Payment within 30 days.</p>",
            "milestones": [
                {"title": "Discovery", "offset_days": 14},
                {"title": "Go-live", "offset_days": 45},
            ],
            "payment_schedule": schedule
            or {
                "kind": "milestones",
                "items": [
                    {"label": "On signing", "percent": "30", "due": "signing"},
                    {"label": "Discovery", "percent": "30", "due": "milestone", "milestone": 0},
                    {"label": "Go-live", "percent": "40", "due": "milestone", "milestone": 1},
                ],
            },
        },
    )
    version = template.versions.get()
    proposal_templates.submit_version(actor, version)
    proposal_templates.approve_version(actor, version, "ok")
    deal = pipeline_services.create_deal(
        sales_actor,
        title=title,
        contact=contact,
        value="3800",
        currency="GBP",
        notes="Peter prefers calls on Tuesdays.",
    )
    proposal = proposal_services.create_proposal(sales_actor, deal, template)
    sent = proposal_services.send_proposal(sales_actor, proposal)
    client = Actor(user=None, channel=Channel.PORTAL, ip="203.0.113.9", label="Peter")
    acceptance.accept_proposal(
        client, proposal, version_id=sent.pk, options=[], name="Peter Gibbons", agreed=True
    )
    proposal.refresh_from_db()
    return proposal


def sign(actor, proposal):
    """Draft the contract through signing's service and announce it signed as sealing does."""
    contract = contracts.create_contract(actor, proposal, kind="proposal")
    with transaction.atomic():
        return events.emit(
            Actor.system(label="signing"),
            "contract.signed",
            contract,
            request_id="test",
            **commercial_facts(contract),
            signed_at="2026-11-23T10:00:00+00:00",
            document_sha256="0" * 64,
            sealed_sha256="0" * 64,
            signers=[],
        )


@pytest.fixture
def accepted_proposal(actor, sales_actor, peter, org):
    return accept_proposal(actor, sales_actor, peter)


@pytest.fixture
def project(actor, sales_actor, accepted_proposal, project_template, run_jobs, users):
    project_templates.set_default_template(actor, project_template)
    sign(actor, accepted_proposal)
    run_jobs()
    return Project.objects.get(proposal=accepted_proposal)


@pytest.fixture
def api(users):
    """``api("delivery")`` → an API client with a real token; responses checked against OpenAPI."""
    from django.core.cache import cache

    from tests.api.conftest import CheckedClient
    from throughline.core.services import create_api_token

    cache.clear()
    clients: dict[str, CheckedClient] = {}

    def make(role: str = "owner") -> CheckedClient:
        if role not in clients:
            _token, raw = create_api_token(Actor.cli(), users[role], name=f"{role} token")
            clients[role] = CheckedClient()
            clients[role].credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return clients[role]

    yield make
    cache.clear()
