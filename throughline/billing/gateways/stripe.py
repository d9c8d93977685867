"""Stripe through its official SDK: Checkout Sessions, signed webhooks, refunds.

Configured by ``STRIPE_SECRET_KEY`` and ``STRIPE_WEBHOOK_SECRET``; ``STRIPE_API_BASE`` points the
SDK elsewhere than api.stripe.com (tests run a local stand-in — Stripe's servers are not
reachable from here). Every call has a timeout and no SDK-level retries beyond one: a request
that fails is retried by our own job or by the client clicking again.

Webhooks are verified with ``stripe.Webhook.construct_event``: HMAC-SHA256 of the timestamped
body with the endpoint secret, and a timestamp no older than ``TOLERANCE`` seconds, so a
captured request replayed later is refused.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings

from throughline.billing.gateways.base import (
    Checkout,
    GatewayEventData,
    SessionState,
    WebhookRejected,
)
from throughline.billing.services.errors import GatewayError
from throughline.core import money

logger = logging.getLogger(__name__)
TOLERANCE = 300  # seconds
TIMEOUT = 15  # seconds per request


def to_minor(amount: Decimal, currency: str) -> int:
    return int(money.quantize(amount, currency).scaleb(money.minor_unit(currency)))


def from_minor(value: int | None, currency: str) -> Decimal:
    return money.quantize(Decimal(int(value or 0)).scaleb(-money.minor_unit(currency)), currency)


def _get(obj: Any, key: str, default: Any = None) -> Any:
    try:
        value = obj[key]
    except (KeyError, TypeError, IndexError):
        return default
    return default if value is None else value


class StripeGateway:
    name = "stripe"
    label = "Card (Stripe)"

    def is_configured(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY)

    def _client(self):
        import stripe

        if not self.is_configured():
            raise GatewayError("Stripe is not configured (STRIPE_SECRET_KEY).")
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
            max_network_retries=1,
        )

    def _call(self, what: str, fn, *args, **kwargs):
        import stripe

        try:
            return fn(*args, **kwargs)
        except stripe.StripeError as exc:
            logger.warning("Stripe %s failed: %s", what, type(exc).__name__)
            raise GatewayError(f"Stripe could not {what}: {exc.user_message or exc}") from exc

    def create_checkout(
        self,
        *,
        invoice_id: str,
        number: str,
        amount: Decimal,
        currency: str,
        email: str,
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
    ) -> Checkout:
        metadata = {"invoice_id": invoice_id, "invoice_number": number}
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": invoice_id,
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_minor(amount, currency),
                        "product_data": {"name": f"Invoice {number}"},
                    },
                }
            ],
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "success_url": success_url,
            "cancel_url": cancel_url,
        }
        if email:
            params["customer_email"] = email
        client = self._client()
        session = self._call(
            "open a checkout page",
            client.v1.checkout.sessions.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )
        return Checkout(session_id=session["id"], url=session["url"])

    def session_state(self, session: Any) -> SessionState:
        currency = str(_get(session, "currency", "")).upper()
        created = _get(session, "created")
        metadata = _get(session, "metadata", {}) or {}
        return SessionState(
            session_id=_get(session, "id", ""),
            status=_get(session, "status", "open"),
            paid=_get(session, "payment_status") in ("paid", "no_payment_required"),
            amount=from_minor(_get(session, "amount_total"), currency) if currency else Decimal(0),
            currency=currency,
            payment_reference=_get(session, "payment_intent") or _get(session, "id", ""),
            invoice_id=_get(metadata, "invoice_id") or _get(session, "client_reference_id", ""),
            created=dt.datetime.fromtimestamp(created, dt.UTC) if created else None,
        )

    def retrieve_session(self, session_id: str) -> SessionState:
        client = self._client()
        session = self._call(
            "look up a checkout session", client.v1.checkout.sessions.retrieve, session_id
        )
        return self.session_state(session)

    def verify_webhook(self, payload: bytes, headers: dict[str, str]) -> GatewayEventData:
        import stripe

        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise WebhookRejected("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
        signature = headers.get("Stripe-Signature") or headers.get("stripe-signature")
        if not signature:
            raise WebhookRejected("missing Stripe-Signature header")
        try:
            stripe.Webhook.construct_event(payload, signature, secret, tolerance=TOLERANCE)
        except stripe.SignatureVerificationError as exc:
            raise WebhookRejected(f"signature check failed: {str(exc)[:120]}") from exc
        except ValueError as exc:
            raise WebhookRejected("body is not JSON") from exc
        body = json.loads(payload)
        created = body.get("created")
        return GatewayEventData(
            id=str(body.get("id") or ""),
            type=str(body.get("type") or ""),
            created=dt.datetime.fromtimestamp(created, dt.UTC)
            if created
            else dt.datetime.now(dt.UTC),
            data=(body.get("data") or {}).get("object") or {},
        )

    def refund(self, payment_reference: str, amount: Decimal, currency: str, key: str) -> str:
        client = self._client()
        refund = self._call(
            "refund",
            client.v1.refunds.create,
            params={"payment_intent": payment_reference, "amount": to_minor(amount, currency)},
            options={"idempotency_key": key},
        )
        return refund["id"]
