"""The whole ceremony: two client signers in order, then our countersigner; codes and links
come from the real SMTP server; the sealed PDF validates with pdfsig and pyHanko; the deal is
won by the ``contract.signed`` reaction."""

from __future__ import annotations

import io
import subprocess

import pytest

from tests.signing.conftest import mails_to, text_of
from throughline.core.models import DomainEvent
from throughline.sales.models import Deal
from throughline.signing.models import Contract, SignatureEvidence, Signer, SigningRequest
from throughline.signing.services import contracts, evidence

pytestmark = pytest.mark.django_db


def pdfsig(path) -> str:
    result = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


def pyhanko_status(data: bytes, trust_root):
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = asn1_x509.Certificate.load(trust_root.public_bytes(serialization.Encoding.DER))
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    (signature,) = reader.embedded_signatures
    return validate_pdf_signature(signature, ValidationContext(trust_roots=[root]))


def test_two_signers_in_order_then_countersigner_seal_and_win(
    contract,
    seal_certificate,
    seal_material,
    signer_browser,
    smtp_server,
    run_jobs,
    tmp_path,
    sales_actor,
    users,
):
    # given: the contract is sent
    request = contracts.send_contract(sales_actor, contract, message="Looking forward to it.")
    run_jobs()
    peter, joanna, olivia = request.signers.order_by("order")
    assert [s.status for s in (peter, joanna, olivia)] == ["invited", "waiting", "waiting"]
    assert mails_to(smtp_server, joanna.email) == []  # not her turn yet

    # when: Peter confirms his code, consents, reads and signs (typed)
    first = signer_browser(peter.email).through_to_signing()
    response = first.sign(name="Peter Gibbons")
    assert response.status_code == 302
    run_jobs()
    peter.refresh_from_db()
    assert peter.status == Signer.Status.SIGNED

    # then: Joanna is invited only now; she signs with a drawing
    second = signer_browser(joanna.email).through_to_signing()
    from tests.signing.test_bad_input import drawing_data_url

    second.sign(kind="drawn", drawing=drawing_data_url(), name="")
    run_jobs()
    # and our countersigner, last
    third = signer_browser(olivia.email).through_to_signing()
    third.sign(name="Olivia Owner")
    run_jobs()

    request.refresh_from_db()
    contract.refresh_from_db()
    assert request.status == SigningRequest.Status.COMPLETED
    assert contract.status == Contract.Status.SIGNED
    assert [s.status for s in request.signers.all()] == ["signed"] * 3

    # the sealed PDF validates with poppler's pdfsig …
    with request.sealed_document.open("rb") as handle:
        sealed = handle.read()
    assert evidence.sha256(sealed) == request.sealed_sha256
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    report = pdfsig(path)
    assert "Signature is Valid" in report, report
    assert "Total document signed" in report, report
    # … and with pyHanko (trusting our self-signed certificate)
    status = pyhanko_status(sealed, seal_material.certificate)
    assert status.intact and status.valid and status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.docmdp_ok in (True, None)

    # a copy with one byte changed does not validate
    tampered = bytearray(sealed)
    at = sealed.find(b"/Producer")
    assert at > 0
    tampered[at + 12] = ord("X") if tampered[at + 12] != ord("X") else ord("Y")
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(bytes(tampered))
    assert "Signature is Valid" not in pdfsig(bad)
    assert not pyhanko_status(bytes(tampered), seal_material.certificate).intact

    # the sealed PDF holds the document's pages, the certificate, the original and the trail
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(sealed))
    assert len(reader.pages) > request.document_pages
    assert set(reader.attachments) == {"original-document.pdf", "evidence.json"}
    (original,) = reader.attachments["original-document.pdf"]
    assert evidence.sha256(original) == request.document_sha256
    certificate_text = "".join(
        page.extract_text() for page in reader.pages[request.document_pages :]
    )
    assert "Signature certificate" in certificate_text
    assert "Peter Gibbons" in certificate_text and "Joanna Mayer" in certificate_text

    # the signature is the trigger: the deal is won, once
    deal = Deal.objects.get(pk=contract.deal_id)
    assert deal.status == Deal.Status.WON
    assert (
        DomainEvent.objects.filter(name="contract.signed", subject_id=str(contract.pk)).count() == 1
    )
    assert DomainEvent.objects.filter(name="deal.won", subject_id=str(deal.pk)).count() == 1
    # billing reacts to the same event with the deposit of the payment schedule (50 % "on
    # signing" of the accepted amounts), from the facts the event carries
    from throughline.billing.models import Invoice

    deposit = Invoice.objects.get(source=f"sales.proposal:{contract.proposal_id}:deposit")
    assert deposit.gross_total == contract.proposal_version.gross_total / 2
    names = set(
        DomainEvent.objects.filter(subject_id=str(contract.pk)).values_list("name", flat=True)
    )
    assert {"contract.sent", "contract.viewed", "contract.signed"} <= names

    # every party received the sealed PDF from the SMTP server
    for signer in request.signers.all():
        final = [
            m for m in mails_to(smtp_server, signer.email) if "Signed by everyone" in m["Subject"]
        ]
        assert len(final) == 1
        (attachment,) = list(final[0].iter_attachments())
        assert attachment.get_content() == sealed
        assert "/c/" in text_of(final[0])  # a personal download link


def test_sealing_twice_is_harmless(
    contract, seal_certificate, signer_browser, run_jobs, sales_actor
):
    from throughline.signing.services import sealing

    only_peter = [{"contact": contract.signer_plan[0]["contact"], "order": 1}]
    contracts.update_contract(sales_actor, contract, signers=only_peter)
    request = contracts.send_contract(sales_actor, contract)
    run_jobs()
    signer_browser("peter@initech.example").through_to_signing().sign(name="Peter Gibbons")
    run_jobs()
    request.refresh_from_db()
    assert request.status == SigningRequest.Status.COMPLETED
    before = request.sealed_sha256
    assert sealing.seal(str(request.pk)) == "completed"
    request.refresh_from_db()
    assert request.sealed_sha256 == before
    assert SignatureEvidence.objects.filter(request=request, event="document.sealed").count() == 1
