"""The sealing certificate: an uploaded PKCS#12 with its full chain seals documents that
validate as trusted against the issuing CA, with an RFC 3161 timestamp (PAdES B-T) from a
timestamp authority running on loopback; the private key is stored encrypted."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.signing.conftest import sign_everyone
from tests.signing.test_ceremony import pdfsig, pyhanko_status
from throughline.signing.models import SigningCertificate, SigningSettings
from throughline.signing.services import certificates, contracts

pytestmark = pytest.mark.django_db


def _cert(subject, key, issuer_name, issuer_key, *, ca=False, eku=None):
    now = timezone.now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
    if not ca and not eku:  # a document-signing certificate: signature + non-repudiation
        usage = dict.fromkeys(
            [
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ],
            False,
        )
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=True, **usage), critical=True
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="session")
def pki():
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Trust Services CA")])
    ca = _cert("Test Trust Services CA", ca_key, ca_name, ca_key, ca=True)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("Northwind Consulting Ltd", leaf_key, ca_name, ca_key)
    tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # pyHanko's TSA: RSA
    tsa = _cert("Test TSA", tsa_key, ca_name, ca_key, eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    return {"ca": ca, "leaf": leaf, "leaf_key": leaf_key, "tsa": tsa, "tsa_key": tsa_key}


@pytest.fixture
def tsa_url(pki):
    """An RFC 3161 timestamp authority on loopback (pyHanko's test TSA behind real HTTP)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    der = serialization.Encoding.DER
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(pki["tsa"].public_bytes(der)),
        tsa_key=asn1_keys.PrivateKeyInfo.load(
            pki["tsa_key"].private_bytes(
                der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
    )
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(self.headers.get("Content-Type"))
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsa", requests
    server.shutdown()


def _p12(pki, password=b"s3cret") -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"seal",
        pki["leaf_key"],
        pki["leaf"],
        [pki["ca"]],
        serialization.BestAvailableEncryption(password),
    )


def test_uploaded_certificate_with_chain_and_timestamp_validates_as_trusted(
    pki, tsa_url, client_as, two_party, sales_actor, signer_browser, run_jobs, smtp_server, tmp_path
):
    owner = client_as("owner")
    response = owner.post(
        "/signing/settings/certificate/upload",
        {
            "file": SimpleUploadedFile("seal.p12", _p12(pki), "application/x-pkcs12"),
            "password": "s3cret",
        },
    )
    assert response.status_code == 302
    row = SigningCertificate.objects.get(active=True)
    assert row.kind == "uploaded" and "Test Trust Services CA" in row.issuer
    assert certificates.fingerprint(pki["ca"]) in {
        certificates.fingerprint(c) for c in certificates.load(row).chain
    }
    key_der = pki["leaf_key"].private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    assert key_der not in bytes(row.key_ciphertext)  # encrypted at rest

    url, tsa_requests = tsa_url
    settings_page = owner.post(
        "/signing/settings/",
        {
            "document_kind": "contract",
            "link_days": 30,
            "reminder_days": 3,
            "pades_level": "B-T",
            "tsa_url": url,
        },
    )
    assert settings_page.status_code == 302
    assert SigningSettings.current().pades_level == "B-T"

    request = contracts.send_contract(sales_actor, two_party)
    sign_everyone(request, signer_browser, run_jobs)
    request.refresh_from_db()
    assert request.status == "completed" and request.seal_level == "B-T"
    assert tsa_requests and set(tsa_requests) == {"application/timestamp-query"}
    with request.sealed_document.open("rb") as handle:
        sealed = handle.read()
    status = pyhanko_status(sealed, pki["ca"])
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None and status.timestamp_validity.intact
    path = tmp_path / "sealed.pdf"
    path.write_bytes(sealed)
    assert "Signature is Valid" in pdfsig(path)


def test_wrong_password_or_garbage_is_refused(pki, client_as):
    from django.contrib.messages import get_messages

    owner = client_as("owner")
    for data, password in ((_p12(pki), "wrong"), (b"not a certificate", "")):
        response = owner.post(
            "/signing/settings/certificate/upload",
            {"file": SimpleUploadedFile("seal.p12", data), "password": password},
        )
        assert any("not a PKCS#12 file" in str(m) for m in get_messages(response.wsgi_request))
    assert not SigningCertificate.objects.exists()


def test_generated_certificate_and_key_rotation(client_as, seal_material, actor):
    owner = client_as("owner")
    assert owner.post("/signing/settings/certificate/generate").status_code == 302
    first = SigningCertificate.objects.get(active=True)
    assert first.kind == "self_signed"
    page = owner.get("/signing/settings/").content.decode()
    assert first.fingerprint_sha256 in page and "BEGIN" not in page
    # a newer certificate takes over; the old stays for the seals made with it
    second = certificates.install(actor, seal_material, "self_signed")
    first.refresh_from_db()
    assert second.active and not first.active
    assert certificates.load(second).certificate == seal_material.certificate


def test_b_t_without_a_timestamp_authority_is_refused(client_as):
    response = client_as("owner").post(
        "/signing/settings/",
        {
            "document_kind": "contract",
            "link_days": 30,
            "reminder_days": 3,
            "pades_level": "B-T",
            "tsa_url": "",
        },
    )
    assert response.status_code == 200
    assert "need a timestamp authority URL" in response.content.decode()
