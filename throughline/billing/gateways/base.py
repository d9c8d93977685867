"""The payment gateway interface: what billing needs from Stripe (or another provider).

A gateway opens hosted checkout pages, verifies and parses its webhooks, answers "what became
of this session?" (for webhooks that never arrived) and refunds. Amounts cross this boundary as
``Decimal`` in the currency's unit; each gateway converts to its own representation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


class WebhookRejected(Exception):
    """A webhook that is not provably from the gateway (bad or missing signature, stale
    timestamp — a replay). ``status`` is the HTTP answer."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Checkout:
    session_id: str
    url: str


@dataclass(frozen=True)
class SessionState:
    """A checkout session as the gateway reports it."""

    session_id: str
    status: str  # open | complete | expired
    paid: bool
    amount: Decimal
    currency: str
    payment_reference: str  # the gateway's id for the money (Stripe: payment intent)
    invoice_id: str
    created: dt.datetime | None = None


@dataclass(frozen=True)
class GatewayEventData:
    """A verified webhook event."""

    id: str
    type: str
    created: dt.datetime
    data: dict[str, Any] = field(default_factory=dict)


class Gateway(Protocol):
    name: str
    label: str

    def is_configured(self) -> bool: ...

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
    ) -> Checkout: ...

    def retrieve_session(self, session_id: str) -> SessionState: ...

    def verify_webhook(self, payload: bytes, headers: dict[str, str]) -> GatewayEventData: ...

    def refund(self, payment_reference: str, amount: Decimal, currency: str, key: str) -> str: ...
