"""HTTPS to a pinned address still checks the certificate against the host name (SNI)."""

import shutil
import ssl
import subprocess
import threading
from http.server import ThreadingHTTPServer

import pytest

from throughline.integrations import transport

from .conftest import Receiver, _handler_for

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture
def tls_receiver(tmp_path):
    """A receiver on 127.0.0.1 with a self-signed certificate for "localhost"."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield receiver, cert
    server.shutdown()
    server.server_close()


def test_an_untrusted_certificate_is_refused(tls_receiver):
    receiver, _cert = tls_receiver
    result = transport.post(f"https://localhost:{receiver.port}/hook", b"{}", {})
    assert result.status is None and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert receiver.requests == []


def test_a_trusted_certificate_for_the_name_is_accepted(tls_receiver, settings):
    receiver, cert = tls_receiver
    settings.WEBHOOK_CA_BUNDLE = str(cert)
    result = transport.post(f"https://localhost:{receiver.port}/hook", b"{}", {})
    assert result.ok, result.error
    assert receiver.requests[0].headers["Host"] == f"localhost:{receiver.port}"


def test_the_certificate_must_name_the_host(tls_receiver, settings):
    receiver, cert = tls_receiver
    settings.WEBHOOK_CA_BUNDLE = str(cert)
    result = transport.post(f"https://127.0.0.1:{receiver.port}/hook", b"{}", {})
    assert result.status is None and "127.0.0.1" in result.error
    assert receiver.requests == []
