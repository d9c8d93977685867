"""The sealing certificate: generate a self-signed one, or take an uploaded PKCS#12.

* ``ensure_certificate`` gives the active certificate, generating a self-signed one (RSA 3072,
  10 years) on first use — "at set-up", without a step anyone can forget.
* ``upload_pkcs12`` installs a certificate with its key and full chain from a ``.p12``/``.pfx``
  file; the chain is embedded in every seal, so a publicly trusted certificate (an AATL/EUTL
  issuer) validates as trusted in common readers.
* The private key never leaves the server and is stored encrypted with AES-256-GCM under a key
  derived (HKDF-SHA256) from ``SECRET_KEY``; the certificate's fingerprint is the associated
  data, so a key cannot be swapped onto another certificate row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.signing.models import SigningCertificate

MAX_P12_BYTES = 64 * 1024
SELF_SIGNED_YEARS = 10
_KDF_INFO = b"throughline.signing.certificate-key.v1"


class CertificateError(ValidationError):
    pass


def _kek() -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"throughline-signing", info=_KDF_INFO
    ).derive(settings.SECRET_KEY.encode())


def encrypt_key(key_der: bytes, fingerprint: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_kek()).encrypt(nonce, key_der, fingerprint.encode())


def decrypt_key(blob: bytes, fingerprint: str) -> bytes:
    blob = bytes(blob)
    try:
        return AESGCM(_kek()).decrypt(blob[:12], blob[12:], fingerprint.encode())
    except InvalidTag as exc:
        raise CertificateError(
            "The signing key cannot be decrypted (was SECRET_KEY changed?). "
            "Generate or upload the certificate again."
        ) from exc


@dataclass(frozen=True)
class KeyMaterial:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()


def generate_self_signed(common_name: str, organization: str = "") -> KeyMaterial:
    """A new RSA 3072 key and a self-signed certificate for document sealing."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]
    if organization:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization[:64]))
    name = x509.Name(attributes)
    now = timezone.now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * SELF_SIGNED_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyMaterial(key=key, certificate=certificate)


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@transaction.atomic
def install(actor: Actor, material: KeyMaterial, kind: str) -> SigningCertificate:
    """Make ``material`` the active certificate (the previous one stays for old seals)."""
    cert = material.certificate
    if cert.public_key().public_numbers() != material.key.public_key().public_numbers():
        raise CertificateError({"file": "The private key does not belong to the certificate."})
    now = timezone.now()
    if cert.not_valid_after_utc <= now:
        raise CertificateError({"file": "This certificate has expired."})
    if cert.not_valid_before_utc > now + dt.timedelta(minutes=10):
        raise CertificateError({"file": "This certificate is not valid yet."})
    fp = fingerprint(cert)
    key_der = material.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    previous = list(SigningCertificate.objects.select_for_update().filter(active=True))
    SigningCertificate.objects.filter(active=True).update(active=False, updated_at=now)
    try:
        with transaction.atomic():
            row = SigningCertificate.objects.create(
                kind=kind,
                active=True,
                subject=cert.subject.rfc4514_string()[:500],
                issuer=cert.issuer.rfc4514_string()[:500],
                serial_number=format(cert.serial_number, "x")[:100],
                fingerprint_sha256=fp,
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                certificate_pem=_pem(cert),
                chain_pem="".join(_pem(c) for c in material.chain),
                key_ciphertext=encrypt_key(key_der, fp),
                created_by=actor.user,
            )
    except IntegrityError as exc:
        raise CertificateError({"file": "This certificate is installed already."}) from exc
    audit_log.record(
        actor,
        "signing_certificate.installed",
        row,
        changes={
            "kind": [None, kind],
            "subject": [None, row.subject],
            "fingerprint_sha256": [None, fp],
            "replaced": [None, [p.fingerprint_sha256 for p in previous]],
        },
    )
    return row


def active_certificate() -> SigningCertificate | None:
    return SigningCertificate.objects.filter(active=True).first()


def ensure_certificate(actor: Actor | None = None) -> SigningCertificate:
    found = active_certificate()
    if found is not None:
        return found
    org = Organization.current()
    legal = org.legal_name or str(org)
    material = generate_self_signed(f"{legal} document seal", legal)
    return install(actor or Actor.system(label="signing set-up"), material, "self_signed")


def generate(actor: Actor) -> SigningCertificate:
    org = Organization.current()
    legal = org.legal_name or str(org)
    return install(actor, generate_self_signed(f"{legal} document seal", legal), "self_signed")


def upload_pkcs12(actor: Actor, data: bytes, password: str) -> SigningCertificate:
    if not data or len(data) > MAX_P12_BYTES:
        raise CertificateError({"file": "Choose a PKCS#12 file (.p12 or .pfx) under 64 KB."})
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except (ValueError, TypeError) as exc:
        raise CertificateError(
            {"file": "This is not a PKCS#12 file, or the password is wrong."}
        ) from exc
    if key is None or cert is None:
        raise CertificateError({"file": "The file must hold the certificate and its private key."})
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise CertificateError({"file": "Only RSA and ECDSA keys can seal PDF documents."})
    chain = tuple(c for c in (extra or []) if fingerprint(c) != fingerprint(cert))
    return install(actor, KeyMaterial(key=key, certificate=cert, chain=chain), "uploaded")


def load(row: SigningCertificate) -> KeyMaterial:
    """The key and certificates of a stored row, ready to sign with."""
    key_der = decrypt_key(row.key_ciphertext, row.fingerprint_sha256)
    # The key was checked when installed and is authenticated by AES-GCM: skip the slow
    # RSA consistency check on every load.
    key = serialization.load_der_private_key(
        key_der, password=None, unsafe_skip_rsa_key_validation=True
    )
    certificate = x509.load_pem_x509_certificate(row.certificate_pem.encode())
    chain = tuple(x509.load_pem_x509_certificates(row.chain_pem.encode())) if row.chain_pem else ()
    return KeyMaterial(key=key, certificate=certificate, chain=chain)


def describe(row: SigningCertificate) -> dict[str, str]:
    return {
        "subject": row.subject,
        "issuer": row.issuer,
        "fingerprint_sha256": row.fingerprint_sha256,
        "kind": row.get_kind_display(),
        "valid": f"{row.not_before:%Y-%m-%d} – {row.not_after:%Y-%m-%d}",
        "self_signed": str(row.subject == row.issuer),
        "chain_length": str(1 + row.chain_pem.count("BEGIN CERTIFICATE")),
    }


def pem_sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
