"""A local HTTP server standing in for Stripe's API (the only fake allowed: a third-party SaaS
we cannot reach from here). It speaks the small part of the protocol billing uses — form-encoded
requests, JSON answers, Bearer auth — so the official ``stripe`` SDK talks to it unchanged.

It also plays the customer (``pay``) and Stripe's webhook sender (``event``/``signed``): events
are signed exactly as Stripe signs them (``t=<timestamp>,v1=<HMAC-SHA256>``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

API_KEY = "sk_test_standin"
WEBHOOK_SECRET = "whsec_test_standin"
_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_test_{next(_ids):06d}"


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def _nest(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (``a[b][0][c]=x``) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


class StripeStandIn:
    def __init__(self):
        self.sessions: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.requests: list[tuple[str, str, dict]] = []
        self.failures: list[int] = []  # answer the next API calls with these statuses
        self.webhook_url = ""  # where the hosted checkout page sends its signed event
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # --- what a customer and Stripe do -------------------------------------------------
    def pay(self, session_id: str) -> dict:
        session = self.sessions[session_id]
        session.update(status="complete", payment_status="paid", payment_intent=new_id("pi"))
        return session

    def expire(self, session_id: str) -> dict:
        self.sessions[session_id].update(status="expired")
        return self.sessions[session_id]

    def event(self, event_type: str, obj: dict, *, event_id: str | None = None) -> bytes:
        body = {
            "id": event_id or new_id("evt"),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "api_version": "2024-06-20",
            "data": {"object": obj},
        }
        return json.dumps(body).encode()

    def charge_refunded(self, session: dict, refunded: int, refund_id: str | None = None) -> dict:
        return {
            "id": new_id("ch"),
            "object": "charge",
            "amount": session["amount_total"],
            "amount_captured": session["amount_total"],
            "amount_refunded": refunded,
            "currency": session["currency"],
            "payment_intent": session["payment_intent"],
            "metadata": session["metadata"],
            "refunds": {"data": [{"id": refund_id or new_id("re"), "amount": refunded}]},
        }

    # --- the API ------------------------------------------------------------------------
    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", new_id("req"))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._answer(
                        401,
                        {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}},
                    )
                    return False
                if standin.failures:
                    status = standin.failures.pop(0)
                    self._answer(
                        status, {"error": {"type": "api_error", "message": "Stand-in failure"}}
                    )
                    return False
                return True

            def _checkout_page(self, session_id: str, pay: bool):
                """The hosted payment page a customer sees (Stripe Checkout, much simplified)."""
                session = standin.sessions.get(session_id)
                if session is None:
                    return self._answer(404, {"error": {"message": "No such session"}})
                if pay:
                    import urllib.request

                    standin.pay(session_id)
                    payload = standin.event("checkout.session.completed", session)
                    request = urllib.request.Request(  # noqa: S310 - our loopback test server
                        standin.webhook_url,
                        data=payload,
                        headers={
                            "Content-Type": "application/json",
                            "Stripe-Signature": sign(payload),
                        },
                    )
                    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
                        assert answer.status == 200
                    self.send_response(303)
                    self.send_header("Location", session["success_url"])
                    self.end_headers()
                    return
                amount = f"{int(session['amount_total']) / 100:.2f} {session['currency'].upper()}"
                html = (
                    "<!doctype html><title>Checkout</title><h1>Pay " + amount + "</h1>"
                    f'<form method="post" action="/pay/{session_id}"><button>Pay</button></form>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def do_GET(self):
                path = urlparse(self.path).path
                if path.startswith("/pay/"):
                    return self._checkout_page(path.rsplit("/", 1)[1], pay=False)
                if not self._authorized():
                    return
                standin.requests.append(("GET", path, {}))
                match = re.fullmatch(r"/v1/checkout/sessions/([\w-]+)", path)
                if match and match.group(1) in standin.sessions:
                    return self._answer(200, standin.sessions[match.group(1)])
                self._answer(
                    404, {"error": {"type": "invalid_request_error", "message": "No such session"}}
                )

            def do_POST(self):
                if urlparse(self.path).path.startswith("/pay/"):
                    return self._checkout_page(urlparse(self.path).path.rsplit("/", 1)[1], pay=True)
                if not self._authorized():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = _nest(parse_qsl(self.rfile.read(length).decode()))
                path = urlparse(self.path).path
                standin.requests.append(("POST", path, form))
                if path == "/v1/checkout/sessions":
                    item = form["line_items"][0]
                    session_id = new_id("cs")
                    session = {
                        "id": session_id,
                        "object": "checkout.session",
                        "mode": form.get("mode"),
                        "url": f"{standin.base_url}/pay/{session_id}",
                        "status": "open",
                        "payment_status": "unpaid",
                        "payment_intent": None,
                        "amount_total": int(item["price_data"]["unit_amount"])
                        * int(item["quantity"]),
                        "currency": item["price_data"]["currency"],
                        "client_reference_id": form.get("client_reference_id"),
                        "customer_email": form.get("customer_email"),
                        "metadata": form.get("metadata", {}),
                        "success_url": form.get("success_url"),
                        "cancel_url": form.get("cancel_url"),
                        "created": int(time.time()),
                    }
                    standin.sessions[session_id] = session
                    return self._answer(200, session)
                if path == "/v1/refunds":
                    refund = {
                        "id": new_id("re"),
                        "object": "refund",
                        "amount": int(form["amount"]),
                        "payment_intent": form["payment_intent"],
                        "status": "succeeded",
                    }
                    standin.refunds.append(refund)
                    return self._answer(200, refund)
                self._answer(
                    404, {"error": {"type": "invalid_request_error", "message": "Unknown"}}
                )

        return Handler
