"""Token scoping: a signer's link opens that signer's page and nothing else; links of other
scopes do not open it; only hashes are stored; ending a request revokes its links."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from tests.signing.conftest import link_from
from throughline.core import public_tokens
from throughline.core.models import PublicToken
from throughline.signing.services import ceremony, contracts

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(contract, seal_certificate, sales_actor, run_jobs, smtp_server):
    request = contracts.send_contract(sales_actor, contract)
    run_jobs()
    return request


def test_a_signing_link_opens_only_its_signer(sent, smtp_server, client):
    token = link_from(smtp_server, "peter@initech.example")
    page = client.get(reverse("signing_portal:sign", args=[token]))
    assert page.status_code == 200
    assert "for Peter Gibbons" in page.content.decode()
    # other scopes refuse it
    assert client.get(reverse("sales_portal:proposal", args=[token])).status_code == 404
    assert client.get(f"/c/{token}/invoice").status_code == 404


def test_links_of_other_scopes_do_not_open_signing(sent, client, accepted_proposal):
    proposal_token = public_tokens.issue_token(
        "proposal", accepted_proposal, expires_in=dt.timedelta(days=1)
    )
    assert client.get(reverse("signing_portal:sign", args=[proposal_token])).status_code == 404
    # a "signing" token for a record that is not a signer is refused too
    odd = public_tokens.issue_token("signing", accepted_proposal, expires_in=dt.timedelta(days=1))
    assert client.get(reverse("signing_portal:sign", args=[odd])).status_code == 404
    assert client.get(reverse("signing_portal:sign", args=["x" * 43])).status_code == 404


def test_only_hashes_are_stored(sent, smtp_server):
    token = link_from(smtp_server, "peter@initech.example")
    stored = PublicToken.objects.get(token_hash=public_tokens.hash_token(token))
    assert stored.scope == "signing" and token not in str(vars(stored))
    assert not PublicToken.objects.filter(token_hash=token).exists()


def test_a_session_is_bound_to_its_signer(sent, signer_browser, smtp_server, run_jobs):
    peter = signer_browser("peter@initech.example").through_to_signing()
    joanna = sent.signers.get(order=2)
    joanna_token = ceremony.issue_link(joanna)
    # Peter's browser (holding his session cookie) opens Joanna's link: no session there
    page = peter.http.get(reverse("signing_portal:sign", args=[joanna_token])).content.decode()
    assert 'name="document_sha256"' not in page
    assert not ceremony.has_session(
        peter.http.get(reverse("signing_portal:sign", args=[joanna_token])).wsgi_request, joanna
    )


def test_ending_a_request_revokes_every_link(sent, smtp_server, client, sales_actor, contract):
    token = link_from(smtp_server, "peter@initech.example")
    contracts.void_contract(sales_actor, contract, "Superseded")
    assert client.get(reverse("signing_portal:sign", args=[token])).status_code == 404
    assert not PublicToken.objects.filter(scope="signing", revoked_at__isnull=True).exists()
