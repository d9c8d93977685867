"""The evidence trail records every step with time, IP, user agent, the code check and the
SHA-256 of the exact bytes shown and of the consent wording — and cannot be edited."""

from __future__ import annotations

import html
import re

import pytest

from tests.signing.conftest import UA, sign_everyone
from throughline.core.models import Organization
from throughline.signing.models import SignatureEvidence
from throughline.signing.services import consent, contracts, evidence

pytestmark = pytest.mark.django_db

CEREMONY = [
    "signer.invited",
    "link.opened",
    "otp.requested",
    "otp.sent",
    "otp.checked",
    "consent.given",
    "document.shown",
    "signed",
]


def test_every_step_is_recorded_with_matching_hashes(
    two_party, seal_certificate, sales_actor, signer_browser, run_jobs, smtp_server
):
    request = contracts.send_contract(sales_actor, two_party)
    run_jobs()
    peter = request.signers.get(order=1)
    browser = signer_browser(peter.email)
    browser.page()
    browser.ask_code()
    browser.enter_code()
    consent_page = browser.page().content.decode()
    browser.consent()
    served = browser.http.get(browser.url("document_pdf"))
    assert served.status_code == 200
    browser.sign(name="Peter Gibbons")
    run_jobs()
    countersigner = request.signers.get(order=2)
    other = signer_browser(countersigner.email).through_to_signing()
    other.sign(name="Olivia")
    run_jobs()
    request.refresh_from_db()

    rows = list(SignatureEvidence.objects.filter(request=request).order_by("seq"))
    events = [r.event for r in rows]
    assert events[0] == "request.sent"
    assert events[-2:] == ["request.completed", "document.sealed"]
    for signer in request.signers.all():
        mine = [r.event for r in rows if r.signer_id == signer.pk]
        steps = [e for e in mine if e in CEREMONY]
        assert list(dict.fromkeys(steps)) == CEREMONY, (signer.name, mine)

    # hashes: the bytes served are the bytes recorded, sent and sealed
    served_hash = evidence.sha256(served.content)
    assert served_hash == request.document_sha256
    shown = [r for r in rows if r.event in ("document.shown", "document.downloaded", "signed")]
    assert shown and all(r.document_sha256 == served_hash for r in shown)
    # the consent hash is of the exact wording on the page
    wording = html.unescape(
        re.search(r'<blockquote class="consent-text">(.*?)</blockquote>', consent_page, re.S).group(
            1
        )
    )
    expected = consent.wording_sha256(request.consent_version, str(Organization.current()))
    assert evidence.sha256(wording) == expected
    consents = [r for r in rows if r.event in ("consent.given", "signed")]
    assert consents and all(r.consent_sha256 == expected for r in consents)

    # who and from where; the code check's result
    for row in rows:
        if row.signer_id and row.event not in ("signer.invited", "otp.sent"):
            assert row.ip == "198.51.100.7" and row.user_agent == UA, row.event
    assert [r.otp_result for r in rows if r.event == "otp.checked"] == ["ok", "ok"]
    # no secret in the trail
    code_rows = [r for r in rows if r.event == "otp.sent"]
    assert code_rows and all(set(r.details) == {"to", "expires_at"} for r in code_rows)

    # chained, and append-only
    ok, head = evidence.verify(request)
    assert ok and head == rows[-1].hash
    with pytest.raises(RuntimeError):
        rows[3].save()
    with pytest.raises(RuntimeError):
        rows[3].delete()
    SignatureEvidence.objects.filter(pk=rows[3].pk).update(ip="10.0.0.1")  # behind our back
    ok, problem = evidence.verify(request)
    assert not ok and "row 4" in problem


def test_evidence_json_matches_the_rows(
    two_party, seal_certificate, sales_actor, signer_browser, run_jobs, client_as
):
    request = contracts.send_contract(sales_actor, two_party)
    sign_everyone(request, signer_browser, run_jobs)
    response = client_as("viewer").get(f"/signing/{two_party.pk}/evidence.json")
    assert response.status_code == 200
    data = response.json()
    assert [row["seq"] for row in data] == list(range(1, len(data) + 1))
    assert data[-1]["hash"] == evidence.verify(request)[1]
