"""One outbound HTTP POST: guarded (ssrf.py), time-boxed, never following redirects.

urllib3's connection class is used directly (not a pool, not ``requests``) so that we connect
to the address the SSRF guard approved while sending the real name in ``Host`` and in TLS SNI,
and certificates are still checked against that name.

Time limits: ``WEBHOOK_CONNECT_TIMEOUT`` (5 s) to connect, ``WEBHOOK_READ_TIMEOUT`` (10 s) for
each read, and a watchdog that cuts the connection when the whole exchange exceeds their sum,
so a receiver that trickles bytes cannot hold a worker either. At most
``MAX_RESPONSE_BYTES`` of the answer are read; the rest is dropped with the connection.
"""

from __future__ import annotations

import base64
import http.client
import logging
import socket
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error

from throughline.integrations import ssrf

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
EXCERPT_CHARS = 2000
KEPT_RESPONSE_HEADERS = ("content-type", "content-length", "location", "retry-after", "server")


def connect_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_CONNECT_TIMEOUT", 5.0))


def read_timeout() -> float:
    return float(getattr(settings, "WEBHOOK_READ_TIMEOUT", 10.0))


@dataclass
class Result:
    """What happened. ``status`` is None when no HTTP answer arrived (``error`` says why)."""

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    excerpt: str = ""
    latency_ms: int = 0
    error: str = ""
    # Retrying cannot help (a refused URL); the caller stops this delivery.
    permanent: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _open(target: ssrf.Target, address: str) -> HTTPConnection:
    if target.scheme == "https":
        return HTTPSConnection(
            address,
            target.port,
            timeout=connect_timeout(),
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=getattr(settings, "WEBHOOK_CA_BUNDLE", None) or None,
        )
    return HTTPConnection(address, target.port, timeout=connect_timeout())


def _connect(target: ssrf.Target, watchdog: _Watchdog) -> HTTPConnection:
    """Connect to the first checked address that answers (a dual-stack name may list an
    address family the receiver does not listen on); TLS errors are not retried elsewhere."""
    failure: Exception | None = None
    for address in target.addresses:
        conn = _open(target, address)
        try:
            conn.connect()
        except (NewConnectionError, ConnectTimeoutError) as exc:
            conn.close()
            failure = exc
            if watchdog.fired.is_set():
                break
            continue
        watchdog.watch(conn.sock)
        return conn
    raise failure or OSError("No address to connect to")


class _Watchdog:
    """Cuts the connection's socket when the whole exchange outlives its deadline.

    TRICKY: the socket is remembered at connect time because http.client hands it over to
    the response (``conn.sock`` becomes None) when the server says it will close.
    """

    def __init__(self, seconds: float) -> None:
        self.fired = threading.Event()
        self.sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._cut)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self.sock = sock
        if self.fired.is_set():
            self._cut()

    def _cut(self) -> None:
        self.fired.set()
        with self._lock:
            sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


def post(url: str, body: bytes, headers: dict[str, str]) -> Result:
    """POST ``body`` to ``url``; every failure is reported in the Result, none is raised."""
    started = time.perf_counter()
    result = Result()
    try:
        target = ssrf.resolve(url)
    except ssrf.OutboundURLRefused as exc:
        result.error, result.permanent = f"Refused: {exc}", True
        return result
    except ssrf.HostNotFound as exc:
        result.error = str(exc)
        return result

    request_headers = {**headers, "Host": target.host_header}
    if target.username or target.password:
        credentials = f"{target.username}:{target.password}".encode()
        request_headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()

    watchdog = _Watchdog(connect_timeout() + read_timeout())
    conn: HTTPConnection | None = None
    try:
        conn = _connect(target, watchdog)
        conn.timeout = read_timeout()
        conn.request("POST", target.path, body=body, headers=request_headers, preload_content=False)
        response = conn.getresponse()
        result.status = response.status
        result.headers = {
            name: response.headers[name][:300]
            for name in KEPT_RESPONSE_HEADERS
            if name in response.headers
        }
        content = b""
        while len(content) < MAX_RESPONSE_BYTES:
            chunk = response.read(
                min(16384, MAX_RESPONSE_BYTES - len(content)), decode_content=False
            )
            if not chunk:
                break
            content += chunk
        result.excerpt = content.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    except (OSError, Urllib3Error, http.client.HTTPException, ValueError) as exc:
        result.error = _describe(exc, watchdog.fired)
        if result.status is not None:
            # The status line arrived but the body did not: the answer is incomplete.
            result.error = f"Incomplete response after status {result.status}: {result.error}"
    finally:
        watchdog.cancel()
        if conn is not None:
            conn.close()
        result.latency_ms = round((time.perf_counter() - started) * 1000)
    if result.error:
        logger.info(
            "Webhook POST to %s failed after %d ms: %s",
            ssrf.sanitize_url(url),
            result.latency_ms,
            result.error,
        )
    return result


def _describe(exc: BaseException, fired: threading.Event) -> str:
    if fired.is_set():
        return f"Timed out: no complete answer within {connect_timeout() + read_timeout():g} s"
    name = type(exc).__name__
    text = str(exc)
    if "timed out" in text.lower() or isinstance(exc, TimeoutError | socket.timeout):
        phase = "connect" if "connect" in name.lower() or "connect" in text.lower() else "read"
        limit = connect_timeout() if phase == "connect" else read_timeout()
        return f"Timed out ({phase} timeout {limit:g} s)"
    if isinstance(exc, ConnectionRefusedError) or "refused" in text.lower():
        return "Connection refused"
    # Garbage instead of HTTP, a dropped connection, a TLS failure: say what, briefly.
    return f"{name}: {text}"[:300]
