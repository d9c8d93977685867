"""Fixtures: a real HTTP receiver on loopback whose answers are scripted, endpoints, events."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import transaction

from throughline.core import events
from throughline.integrations import services

DOCS = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """``script`` holds one behaviour per request, in order; ``default`` answers the rest.

    A behaviour is ``(status, {headers}, b"body")``, or one of ``"hang"`` (never answer),
    ``"garbage"`` (bytes that are not HTTP), ``"close"`` (hang up without a word) and
    ``"trickle"`` (a 200 whose body drips one byte at a time).
    """

    script: list = field(default_factory=list)
    default: object = (200, {}, b"ok")
    requests: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def next_behaviour(self):
        return self.script.pop(0) if self.script else self.default


def _handler_for(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # keep the test output clean
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.requests.append(
                Received(self.path, {k: v for k, v in self.headers.items()}, body, time.time())
            )
            behaviour = receiver.next_behaviour()
            if behaviour == "hang":
                receiver.released.wait(30)
                return
            if behaviour == "garbage":
                self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n\x00\xff")
                self.close_connection = True
                return
            if behaviour == "close":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if behaviour == "trickle":
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                for _ in range(1000):
                    if receiver.released.wait(0.2):
                        return
                    try:
                        self.wfile.write(b".")
                        self.wfile.flush()
                    except OSError:
                        return
                return
            status, headers, content = behaviour
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler


@pytest.fixture
def make_receiver():
    """``make_receiver((500, {}, b""), …, default=…)`` → a running Receiver on 127.0.0.1."""
    started = []

    def start(*script, default=(200, {}, b"ok")) -> Receiver:
        receiver = Receiver(script=list(script), default=default)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(receiver))
        server.daemon_threads = True
        receiver.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        started.append((server, receiver))
        return receiver

    yield start
    for server, receiver in started:
        receiver.released.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _loopback_receivers_allowed(settings):
    # The receivers of these tests listen on 127.0.0.1; the SSRF tests switch this off.
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture(autouse=True)
def _no_job_crashed(request):
    """HTTP failures are outcomes, not exceptions: a job that raised is a bug in this app."""
    if "db" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("db")  # set up first, so it is still there when this checks
    yield
    from django_tasks_db.models import DBTaskResult

    def ours(result) -> bool:
        # Other apps' handlers also run on these events; only this app's jobs are judged here.
        args = result.args_kwargs.get("args") or []
        return result.task_path.startswith("throughline.integrations.") or (
            len(args) == 2 and str(args[1]).startswith("throughline.integrations.")
        )

    crashed = [
        (r.task_path, r.traceback)
        for r in DBTaskResult.objects.exclude(exception_class_path="")
        if ours(r)
    ]
    assert crashed == [], crashed


@pytest.fixture
def endpoint_for(actor):
    def create(receiver_or_url, events_=("deal.won",), **kwargs):
        url = receiver_or_url if isinstance(receiver_or_url, str) else receiver_or_url.url
        return services.create_endpoint(
            actor, name=kwargs.pop("name", "Books"), url=url, event_types=list(events_), **kwargs
        )

    return create


@pytest.fixture
def emit(actor):
    """``emit("deal.won", amount="10.00")`` → the DomainEvent, committed with its jobs."""

    def fire(name: str = "deal.won", subject_id: str = "deal-1", **payload):
        with transaction.atomic():
            return events.emit(
                actor, name, subject_type="sales.deal", subject_id=subject_id, **payload
            )

    return fire


def docs_verify():
    """The receiver's ``verify`` function, taken from the first Python block of the docs."""
    text = DOCS.read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?)```", text, re.S)
    assert block, "docs/WEBHOOKS.md has no Python snippet"
    namespace: dict = {}
    exec(compile(block.group(1), str(DOCS), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace["verify"]
