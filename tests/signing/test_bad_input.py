"""Bad input is refused with a clear message, and nothing changes: wrong or expired code,
reused link after completion, signing out of order, a voided or changed document, an
oversized or non-image drawing."""

from __future__ import annotations

import base64
import io

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.utils import timezone

from tests.signing.conftest import code_from
from throughline.signing.models import Contract, SignatureEvidence, Signer, SigningRequest
from throughline.signing.services import ceremony, contracts, otp

pytestmark = pytest.mark.django_db


def drawing_data_url(width=300, height=100, strokes=True) -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    if strokes:
        ImageDraw.Draw(image).line(
            [(10, 80), (80, 20), (150, 70), (280, 30)], fill="black", width=4
        )
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def flashes(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def state(signer: Signer):
    signer.refresh_from_db()
    request = SigningRequest.objects.get(pk=signer.request_id)
    return (signer.status, signer.signed_at, bytes(signer.signature_png), request.status)


@pytest.fixture
def sent(contract, seal_certificate, sales_actor, run_jobs, smtp_server):
    request = contracts.send_contract(sales_actor, contract)
    run_jobs()
    return request


@pytest.fixture
def peter_signer(sent):
    return sent.signers.get(order=1)


def test_wrong_code_is_refused_and_counts_an_attempt(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email)
    browser.page()
    browser.ask_code()
    real = code_from(browser.inbox, peter_signer.email)
    wrong = "000000" if real != "000000" else "111111"
    response = browser.enter_code(wrong)
    assert "That code is not right. 4 attempts left." in flashes(response)
    peter_signer.refresh_from_db()
    assert peter_signer.otp_attempts == 1 and peter_signer.verified_at is None
    # no session: the document is not shown
    assert 'name="document_sha256"' not in browser.page().content.decode()
    row = SignatureEvidence.objects.filter(signer=peter_signer, event="otp.checked").last()
    assert row.otp_result == "wrong"
    # the right code still works after one mistake
    browser.enter_code(real)
    peter_signer.refresh_from_db()
    assert peter_signer.verified_at is not None


def test_five_wrong_codes_lock_the_code(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email)
    browser.ask_code()
    real = code_from(browser.inbox, peter_signer.email)
    wrong = "000000" if real != "000000" else "111111"
    for _ in range(otp.MAX_ATTEMPTS):
        browser.enter_code(wrong)
    response = browser.enter_code(real)
    assert "Too many wrong codes. Ask for a new code." in flashes(response)
    peter_signer.refresh_from_db()
    assert peter_signer.verified_at is None


def test_expired_code_is_refused(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email)
    browser.ask_code()
    with time_machine.travel(timezone.now() + otp.CODE_TTL + timezone.timedelta(seconds=1)):
        response = browser.enter_code()
    assert "This code has expired. Ask for a new code." in flashes(response)
    peter_signer.refresh_from_db()
    assert peter_signer.verified_at is None


def test_resending_codes_is_rate_limited(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email)
    browser.ask_code()
    response = browser.ask_code()
    assert any("Wait" in m for m in flashes(response))
    assert SignatureEvidence.objects.filter(signer=peter_signer, event="otp.requested").count() == 1


def test_a_code_of_an_older_request_no_longer_works(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email)
    browser.ask_code()
    old = code_from(browser.inbox, peter_signer.email)
    with time_machine.travel(timezone.now() + otp.RESEND_GAP + timezone.timedelta(seconds=1)):
        browser.ask_code()
        new = code_from(browser.inbox, peter_signer.email)
        if old != new:
            assert "That code is not right" in " ".join(flashes(browser.enter_code(old)))
        browser.enter_code(new)
    peter_signer.refresh_from_db()
    assert peter_signer.verified_at is not None


def test_signing_out_of_order_is_refused(sent, signer_browser, peter_signer):
    joanna = sent.signers.get(order=2)
    token = ceremony.issue_link(joanna)  # as if she had a link early
    browser = signer_browser(joanna.email, token=token)
    page = browser.page().content.decode()
    assert "Not your turn yet" in page and "Peter Gibbons must sign first" in page
    response = browser.ask_code()
    assert "It is not your turn yet: Peter Gibbons must sign first." in flashes(response)
    before = state(joanna)
    with pytest.raises(ceremony.Refused, match="not your turn"):
        ceremony.sign(
            ceremony.Client(actor=ceremony.Actor.system()),
            joanna,
            document_sha256=sent.document_sha256,
            kind="typed",
            name="Joanna",
            agreed=True,
            session_ok=True,
        )
    assert state(joanna) == before
    assert SignatureEvidence.objects.filter(signer=joanna, event="action.refused").exists()


def test_reused_link_after_signing_is_refused(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email).through_to_signing()
    browser.sign(name="Peter Gibbons")
    signed = state(peter_signer)
    page = browser.page().content.decode()
    assert "You have signed this document already" in page
    assert 'name="document_sha256"' not in page
    response = browser.http.post(
        browser.url("submit"),
        {"document_sha256": sent.document_sha256, "kind": "typed", "name": "Again", "agreed": "on"},
    )
    assert (
        "You have signed this document already. This link cannot be used to sign again."
        in flashes(response)
    )
    assert state(peter_signer) == signed


def test_voided_document_cannot_be_signed(
    sent, peter_signer, signer_browser, sales_actor, contract
):
    browser = signer_browser(peter_signer.email).through_to_signing()
    document_hash = browser.document_hash()
    contracts.void_contract(sales_actor, contract, "Wrong price")
    response = browser.http.post(
        browser.url("submit"),
        {"document_sha256": document_hash, "kind": "typed", "name": "Peter", "agreed": "on"},
    )
    # the link itself is revoked: the page says so and nothing is signed
    assert response.status_code == 404
    peter_signer.refresh_from_db()
    assert peter_signer.status == Signer.Status.VIEWED and peter_signer.signed_at is None
    contract.refresh_from_db()
    assert contract.status == Contract.Status.VOIDED
    # and at the service level the reason is explicit
    with pytest.raises(ceremony.Refused, match="withdrew"):
        ceremony.sign(
            ceremony.Client(actor=ceremony.Actor.system()),
            peter_signer,
            document_sha256=document_hash,
            kind="typed",
            name="Peter",
            agreed=True,
            session_ok=True,
        )


def test_changed_document_hash_mismatch_is_refused(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email).through_to_signing()
    before = state(peter_signer)
    response = browser.sign(document_sha256="0" * 64)
    assert any("The document changed since you opened it" in m for m in flashes(response))
    assert state(peter_signer) == before


def test_document_changed_on_disk_is_refused(sent, peter_signer, signer_browser):
    browser = signer_browser(peter_signer.email).through_to_signing()
    document_hash = browser.document_hash()
    with sent.document.open("r+b") as handle:  # someone edits the stored file
        handle.seek(100)
        handle.write(b"X")
    before = state(peter_signer)
    response = browser.sign(document_sha256=document_hash)
    assert any("no longer matches the one sent" in m for m in flashes(response))
    assert state(peter_signer) == before


@pytest.mark.parametrize(
    ("drawing", "message"),
    [
        ("data:image/png;base64," + "A" * 400_000, "too large"),
        ("data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=", "must be a PNG image"),
        (
            "data:image/png;base64," + base64.b64encode(b"GIF89a not a png").decode(),
            "must be a PNG",
        ),
        (
            "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\ngarbage").decode(),
            "could not be read",
        ),
        (drawing_data_url(strokes=False), "empty"),
        (drawing_data_url(width=4000, height=100), "too large"),
        ("", "Draw your signature"),
    ],
)
def test_bad_drawings_are_refused(sent, peter_signer, signer_browser, drawing, message):
    browser = signer_browser(peter_signer.email).through_to_signing()
    before = state(peter_signer)
    response = browser.sign(kind="drawn", drawing=drawing)
    assert any(message in m for m in flashes(response)), flashes(response)
    assert state(peter_signer) == before


def test_signing_without_the_code_session_is_refused(sent, peter_signer, signer_browser, client):
    # a forwarded link in another browser: no code entered there
    browser = signer_browser(peter_signer.email).through_to_signing()
    document_hash = browser.document_hash()
    forwarded = signer_browser(peter_signer.email, token=browser.token)
    page = forwarded.page().content.decode()
    assert "Confirm it is you" in page and 'name="document_sha256"' not in page
    assert forwarded.http.get(forwarded.url("document_pdf")).status_code == 403
    response = forwarded.http.post(
        forwarded.url("submit"),
        {"document_sha256": document_hash, "kind": "typed", "name": "Mallory", "agreed": "on"},
    )
    assert "Confirm the one-time code from your e-mail first." in flashes(response)
    assert state(peter_signer)[0] == Signer.Status.VIEWED


def test_expiry_ends_the_request(sent, peter_signer, signer_browser, contract):
    browser = signer_browser(peter_signer.email)
    with time_machine.travel(sent.expires_at + timezone.timedelta(minutes=1)):
        page = browser.page()
        assert page.status_code == 410
        assert ceremony.expire_due() == 1
    sent.refresh_from_db()
    contract.refresh_from_db()
    assert sent.status == SigningRequest.Status.EXPIRED
    assert contract.status == Contract.Status.EXPIRED
