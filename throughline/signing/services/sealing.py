"""The final document: the signed pages, a signature certificate, ONE PAdES seal.

When the last signer has signed, ``seal`` (run by the ``seal_request`` job):

1. checks the stored document against its recorded SHA-256 and the evidence chain;
2. renders the certificate pages (parties, signatures, every evidence row, the hashes) and
   appends them to the document; the original PDF and the evidence JSON are embedded as files;
3. seals the whole once with the organization's certificate (pyHanko, PAdES baseline):
   B-B by default, B-T with an RFC 3161 timestamp when a TSA URL is set, B-LT (validation data
   in a DSS) when asked. It is a certification signature that permits no changes: any later
   edit shows as such in every reader. One seal — not a signature per signer that later
   incremental updates would show as "modified";
4. stores it, marks the request completed and the contract signed, emits ``contract.signed``
   and e-mails every party the sealed PDF.

The heavy work (1-3) runs without locks; step 4 takes the lock and re-checks the status, so two
workers (or a retried job) seal at most once.
"""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.signing.models import (
    Contract,
    SignatureEvidence,
    SigningCertificate,
    SigningRequest,
    SigningSettings,
)
from throughline.signing.services import certificates, consent, documents, evidence, notify
from throughline.signing.services.signatures import data_uri

FIELD_NAME = "ThroughlineSeal"
TSA_TIMEOUT = 15


class SealingError(Exception):
    pass


def _signer_class():
    """pyHanko's SimpleSigner re-parses the private key for every signature (slow for RSA):
    keep the loaded key instead."""
    from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner

    class LoadedKeySigner(SimpleSigner):
        def __init__(self, *, loaded_key, **kwargs):
            self._loaded_key = loaded_key
            super().__init__(**kwargs)

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            hash_algo = get_pyca_cryptography_hash(digest_algorithm)
            if mechanism == "rsassa_pkcs1v15":
                return self._loaded_key.sign(data, PKCS1v15(), hash_algo)
            if mechanism == "ecdsa":
                return self._loaded_key.sign(data, ECDSA(hash_algo))
            return super().sign_raw(data, digest_algorithm)

    return LoadedKeySigner


def seal_pdf(
    pdf: bytes,
    material: certificates.KeyMaterial,
    *,
    level: str = "B-B",
    tsa_url: str = "",
    reason: str = "",
    location: str = "",
) -> bytes:
    """One PAdES certification signature over ``pdf`` (no changes allowed after it)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    if level in ("B-T", "B-LT") and not tsa_url:
        raise SealingError(f"PAdES {level} needs a timestamp authority URL (signing settings).")

    def der(cert) -> bytes:
        return cert.public_bytes(serialization.Encoding.DER)

    cert = asn1_x509.Certificate.load(der(material.certificate))
    chain = [asn1_x509.Certificate.load(der(c)) for c in material.chain]
    key_info = asn1_keys.PrivateKeyInfo.load(
        material.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    signer = _signer_class()(
        loaded_key=material.key,
        signing_cert=cert,
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs([cert, *chain]),
    )
    meta_kwargs: dict[str, Any] = {}
    if level == "B-LT":
        meta_kwargs["embed_validation_info"] = True
        meta_kwargs["validation_context"] = ValidationContext(
            trust_roots=[chain[-1] if chain else cert],
            other_certs=chain,
            allow_fetching=True,
            revocation_mode="soft-fail",
        )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason or None,
        location=location or None,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        **meta_kwargs,
    )
    timestamper = RequestsHTTPTimeStamper(tsa_url, timeout=TSA_TIMEOUT) if tsa_url else None

    def sign() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        return signers.sign_pdf(writer, meta, signer=signer, timestamper=timestamper).getvalue()

    return _outside_event_loop(sign)


def _outside_event_loop(fn):
    """pyHanko's sync API calls ``asyncio.run``, which fails in a thread that already runs an
    event loop (an ASGI server, a test driving a browser): then run it in a fresh thread."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def certificate_context(request: SigningRequest, row: SigningCertificate, level: str) -> dict:
    org = str(Organization.current())
    ok, head = evidence.verify(request)
    if not ok:
        raise SealingError(f"The evidence trail is broken: {head}")
    signers = []
    for signer in request.signers.all():
        signers.append(
            {
                "signer": signer,
                "image": data_uri(signer.signature_png) if signer.signature_png else "",
                "consent_sha256": consent.wording_sha256(signer.consent_version, org)
                if signer.consent_version
                else "",
            }
        )
    return {
        "contract": request.contract,
        "request": request,
        "signers": signers,
        "rows": evidence.rows(request).order_by("seq"),
        "chain_head": head,
        "certificate": certificates.describe(row),
        "level": level,
        "consent_text": consent.wording(request.consent_version, org),
        "consent_version": request.consent_version,
    }


def build_sealed(request: SigningRequest) -> tuple[bytes, SigningCertificate, str]:
    """The sealed PDF for a request whose signers have all signed (no locks held)."""
    from throughline.signing.services.ceremony import document_bytes

    options = SigningSettings.current()
    level = options.pades_level
    row = certificates.ensure_certificate()
    material = certificates.load(row)
    try:
        document = document_bytes(request)
    except ValidationError as exc:
        raise SealingError(" ".join(exc.messages)) from exc
    context = certificate_context(request, row, level)
    certificate = documents.certificate_pdf(context)
    trail = json.dumps(evidence.as_json(request), indent=2, ensure_ascii=False).encode()
    combined = documents.combine(
        document,
        certificate,
        {"original-document.pdf": document, "evidence.json": trail},
    )
    sealed = seal_pdf(
        combined,
        material,
        level=level,
        tsa_url=options.tsa_url,
        reason=f"Signed by all parties: {request.contract.number}",
        location=str(Organization.current())[:100],
    )
    return sealed, row, level


def commercial_facts(contract: Contract) -> dict[str, Any]:
    """What was signed, in figures: for reactions such as billing's deposit invoice."""
    from throughline.sales.services import pricing

    version = contract.proposal_version
    proposal = contract.proposal
    totals = pricing.totals(
        list(version.lines.all()),
        proposal.currency,
        discount_percent=version.discount_percent,
        selection=contract.selected_options,
    )
    contact = proposal.contact or contract.deal.contact
    return {
        "deal_id": str(contract.deal_id),
        "proposal_id": str(proposal.pk),
        "proposal_version": version.number,
        "number": contract.number,
        "proposal_number": proposal.number,
        "contact_id": str(contact.pk) if contact else None,
        "selected_options": contract.selected_options,
        "currency": proposal.currency,
        "net_total": str(totals.net),
        "tax_total": str(totals.tax),
        "gross_total": str(totals.gross),
        "totals": pricing.totals_json(totals),
        "payment_schedule": version.content.get("payment_schedule", {}),
    }


def seal(request_id: str) -> str:
    request = SigningRequest.objects.select_related("contract").get(pk=request_id)
    if request.status != SigningRequest.Status.SEALING:
        return request.status
    sealed, row, level = build_sealed(request)
    actor = Actor.system(label="signing")
    with transaction.atomic():
        request = (
            SigningRequest.objects.select_for_update(of=("self",))
            .select_related("contract")
            .get(pk=request_id)
        )
        if request.status != SigningRequest.Status.SEALING:
            return request.status
        now = timezone.now()
        contract = Contract.objects.select_for_update().get(pk=request.contract_id)
        request.sealed_document.save(
            f"{contract.number}-signed.pdf", ContentFile(sealed), save=False
        )
        request.sealed_sha256 = evidence.sha256(sealed)
        request.seal_level, request.seal_certificate = level, row
        request.status, request.completed_at = SigningRequest.Status.COMPLETED, now
        request.save(
            update_fields=[
                "sealed_document",
                "sealed_sha256",
                "seal_level",
                "seal_certificate",
                "status",
                "completed_at",
                "updated_at",
            ]
        )
        evidence.record(
            request,
            SignatureEvidence.Event.SEALED,
            document_sha256=request.document_sha256,
            details={
                "sealed_sha256": request.sealed_sha256,
                "level": level,
                "certificate_sha256": row.fingerprint_sha256,
            },
        )
        contract.status, contract.signed_at = Contract.Status.SIGNED, now
        contract.save(update_fields=["status", "signed_at", "updated_at"])
        audit_log.record(
            actor,
            "contract.signed",
            contract,
            changes={
                "status": ["sent", "signed"],
                "document_sha256": [None, request.document_sha256],
                "sealed_sha256": [None, request.sealed_sha256],
                "seal_level": [None, level],
            },
        )
        events.emit(
            actor,
            "contract.signed",
            contract,
            request_id=str(request.pk),
            **commercial_facts(contract),
            signed_at=now.isoformat(),
            document_sha256=request.document_sha256,
            sealed_sha256=request.sealed_sha256,
            signers=[str(s.pk) for s in request.signers.all()],
        )
        notify.send_completed(actor, request)
    return "sealed"
