"""Signing fixtures: an accepted proposal made through sales' services, an approved contract
template, a drafted contract with two client signers and our countersigner, and helpers that
walk a signer through the ceremony over HTTP — codes and links read from the real SMTP server.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.crm import services as crm_services
from throughline.sales.models import ApprovalPolicy
from throughline.sales.services import acceptance, catalogue
from throughline.sales.services import pipeline as pipeline_services
from throughline.sales.services import proposals as proposal_services
from throughline.sales.services import templates as proposal_templates
from throughline.signing.services import certificates, contracts
from throughline.signing.services import templates as contract_templates

LINK = re.compile(r"https?://[^\s]+/c/([A-Za-z0-9_-]{20,100})/sign")
CODE = re.compile(r"^\s{4}(\d{6})\s*$", re.MULTILINE)
UA = "Mozilla/5.0 (X11; Linux x86_64) SigningTest/1.0"


@pytest.fixture(scope="session")
def seal_material():
    """One RSA key and self-signed certificate for the whole run (key generation is slow)."""
    return certificates.generate_self_signed("Northwind test seal", "Northwind Consulting Ltd")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def seal_certificate(actor, seal_material):
    return certificates.install(actor, seal_material, "self_signed")


@pytest.fixture
def sales_actor(users) -> Actor:
    return Actor(user=users["sales"], channel=Channel.UI, ip="127.0.0.1")


@pytest.fixture
def client_company(actor):
    return crm_services.create_company(
        actor, name="Initech", address="1 Initech Way\nAustin", vat_id="GB123456789"
    )


@pytest.fixture
def peter(actor, client_company, users):
    return crm_services.create_contact(
        actor,
        first_name="Peter",
        last_name="Gibbons",
        email="peter@initech.example",
        company=client_company,
        owner=users["sales"],
    )


@pytest.fixture
def joanna(actor, client_company, users):
    return crm_services.create_contact(
        actor,
        first_name="Joanna",
        last_name="Mayer",
        email="joanna@initech.example",
        company=client_company,
        owner=users["sales"],
    )


@pytest.fixture
def accepted_proposal(actor, owner, sales_actor, peter, org):
    policy = ApprovalPolicy.current()
    policy.max_discount_percent, policy.total_threshold = Decimal("50"), None
    policy.nonstandard_terms_need_approval = False
    policy.save()
    item = catalogue.create_item(
        actor,
        name="Consulting day",
        code="CONS-DAY",
        unit="day",
        unit_price="950.00",
        currency="GBP",
        tax_rate="20",
    )
    template = proposal_templates.create_template(
        actor,
        name="Consulting engagement",
        currency="GBP",
        content={
            "sections": [{"title": "Approach", "body": "<p>Dear {{ contact.first_name }}.</p>"}],
            "lines": [proposal_templates.line_from_item(item, quantity="3")],
            "in_scope": ["Discovery workshop"],
            "out_of_scope": ["Hardware"],
            "terms": "<p>Payment within 30 days.</p>",
            "milestones": [{"title": "Go-live", "offset_days": 30}],
            "payment_schedule": {
                "kind": "installments",
                "items": [
                    {"label": "On signing", "percent": "50", "due": "signing"},
                    {"label": "On completion", "percent": "50", "due": "completion"},
                ],
            },
        },
    )
    version = template.versions.get()
    proposal_templates.submit_version(actor, version)
    proposal_templates.approve_version(actor, version, "ok")
    deal = pipeline_services.create_deal(
        sales_actor, title="Initech rollout", contact=peter, value="2850", currency="GBP"
    )
    proposal = proposal_services.create_proposal(sales_actor, deal, template)
    sent = proposal_services.send_proposal(sales_actor, proposal)
    client = Actor(user=None, channel=Channel.PORTAL, ip="203.0.113.9", label="Peter")
    acceptance.accept_proposal(
        client, proposal, version_id=sent.pk, options=[], name="Peter Gibbons", agreed=True
    )
    proposal.refresh_from_db()
    return proposal


CLAUSES = [
    {
        "title": "Parties",
        "body": "<p>This agreement is between {{ organization.legal_name }} and "
        "{{ company.name }}, represented by {{ contact.full_name }}.</p>",
    },
    {"title": "Price", "body": "<p>The total is {{ proposal.total }}.</p>"},
]


@pytest.fixture
def contract_template(actor):
    template = contract_templates.create_template(actor, name="Services agreement", clauses=CLAUSES)
    version = template.versions.get()
    contract_templates.submit_version(actor, version)
    contract_templates.approve_version(actor, version, "Approved.")
    return template


@pytest.fixture
def contract(sales_actor, accepted_proposal, contract_template, peter, joanna, users, media):
    """A draft: Peter signs first, then Joanna, then our countersigner (the owner)."""
    drafted = contracts.create_contract(
        sales_actor, accepted_proposal, kind="contract", template=contract_template
    )
    return contracts.update_contract(
        sales_actor,
        drafted,
        signers=[
            {"contact": str(peter.pk), "order": 1},
            {"contact": str(joanna.pk), "order": 2},
            {"user": str(users["owner"].pk), "order": 3},
        ],
        sequential=True,
    )


# --- reading the real SMTP server -------------------------------------------------------------


def mails_to(inbox, address: str) -> list:
    return [m["message"] for m in inbox.messages if address in m["envelope"].rcpt_tos]


def text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


def link_from(inbox, address: str) -> str:
    """The token of the newest personal link e-mailed to ``address``."""
    for message in reversed(mails_to(inbox, address)):
        found = LINK.search(text_of(message))
        if found:
            return found.group(1)
    raise AssertionError(f"No signing link was e-mailed to {address}")


def code_from(inbox, address: str) -> str:
    for message in reversed(mails_to(inbox, address)):
        found = CODE.search(text_of(message))
        if found:
            return found.group(1)
    raise AssertionError(f"No code was e-mailed to {address}")


# --- walking a signer through the ceremony over HTTP ------------------------------------------


class SignerBrowser:
    """One signer's browser (its own cookie jar) driving the signing pages."""

    def __init__(self, client_class, token: str, run_jobs, inbox, email: str):
        self.http = client_class(HTTP_USER_AGENT=UA, REMOTE_ADDR="198.51.100.7")
        self.token, self.run_jobs, self.inbox, self.email = token, run_jobs, inbox, email

    def url(self, name: str = "sign") -> str:
        return reverse(f"signing_portal:{name}", args=[self.token])

    def page(self):
        return self.http.get(self.url())

    def ask_code(self):
        response = self.http.post(self.url("request_code"))
        self.run_jobs()
        return response

    def enter_code(self, code: str | None = None):
        return self.http.post(
            self.url("verify_code"), {"code": code or code_from(self.inbox, self.email)}
        )

    def consent(self):
        return self.http.post(self.url("consent"), {"agreed": "on"})

    def document_hash(self) -> str:
        html = self.page().content.decode()
        found = re.search(r'name="document_sha256" value="([0-9a-f]{64})"', html)
        assert found, "the signing form is not on the page"
        return found.group(1)

    def sign(self, **overrides):
        data = {
            "document_sha256": overrides.pop("document_sha256", None) or self.document_hash(),
            "kind": "typed",
            "name": "Test Signer",
            "drawing": "",
            "agreed": "on",
            **overrides,
        }
        return self.http.post(self.url("submit"), data)

    def through_to_signing(self):
        self.page()
        self.ask_code()
        self.enter_code()
        self.consent()
        self.page()  # the document is shown
        return self


@pytest.fixture
def signer_browser(run_jobs, smtp_server):
    from django.test import Client

    def make(email: str, token: str | None = None) -> SignerBrowser:
        return SignerBrowser(
            Client, token or link_from(smtp_server, email), run_jobs, smtp_server, email
        )

    return make


@pytest.fixture
def two_party(contract, sales_actor, peter, users):
    """The contract with Peter, then our owner: the shortest real ceremony."""
    return contracts.update_contract(
        sales_actor,
        contract,
        signers=[
            {"contact": str(peter.pk), "order": 1},
            {"user": str(users["owner"].pk), "order": 2},
        ],
    )


def sign_everyone(request, signer_browser, run_jobs) -> list[SignerBrowser]:
    """Each signer in turn: link from the inbox, code, consent, read, sign."""
    browsers = []
    for signer in request.signers.order_by("order"):
        run_jobs()
        browser = signer_browser(signer.email).through_to_signing()
        browser.sign(name=signer.name)
        browsers.append(browser)
    run_jobs()
    return browsers


@pytest.fixture
def api(users):
    """``api("owner")`` → an API client with a real token; responses checked against OpenAPI."""
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
