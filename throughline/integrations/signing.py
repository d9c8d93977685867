"""Webhook signatures: HMAC-SHA256 over ``f"{timestamp}.{body}"`` (docs/WEBHOOKS.md).

Header: ``Throughline-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]``. The timestamp is the
time of the attempt, so a receiver can refuse old (replayed) requests; while a rotated secret's
overlap lasts, a second ``v1`` signed with the previous secret lets receivers switch over
without dropping a request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Throughline-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


def generate_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def mask_secret(secret: str) -> str:
    """What the UI shows after creation: enough to tell two secrets apart, no more."""
    return f"{SECRET_PREFIX}…{secret[-4:]}" if secret else ""


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode() if isinstance(body, str) else body


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    message = f"{timestamp}.".encode() + _as_bytes(body)
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(signing_secrets: list[str], timestamp: int, body: bytes | str) -> str:
    """``t=…,v1=…`` with one ``v1`` per secret (current first)."""
    parts = [f"t={timestamp}"] + [f"v1={sign(s, timestamp, body)}" for s in signing_secrets]
    return ",".join(parts)


def parse_header(header: str) -> tuple[int | None, list[str]]:
    timestamp: int | None = None
    signatures: list[str] = []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None, []
        elif key == "v1" and value:
            signatures.append(value.strip())
    return timestamp, signatures


def verify_signature(
    secret: str,
    header: str,
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` (the raw request bytes) with ``secret``, recently.

    A timestamp further than ``tolerance`` seconds from ``now`` is refused (replay protection).
    Any one matching ``v1`` is enough: during a rotation the sender signs with both secrets.
    """
    timestamp, signatures = parse_header(header)
    if timestamp is None or not signatures:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
