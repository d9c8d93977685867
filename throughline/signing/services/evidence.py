"""The evidence trail: what happened in a signing, with time, IP, user agent and hashes.

Rows are appended in the transaction of the step they record (under the request's row lock,
so ``seq`` is gapless) and chained: ``hash = sha256(prev_hash + canonical_json(row))``. The
certificate page of the sealed PDF prints the rows and the last hash; the evidence JSON is
embedded in the sealed PDF, so anyone can recompute the chain (``verify``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.signing.models import SignatureEvidence, Signer, SigningRequest

GENESIS = "0" * 64
Event = SignatureEvidence.Event


@dataclass(frozen=True)
class Client:
    """Where a step came from: the actor (IP, label) and the browser's user agent."""

    actor: Actor
    user_agent: str = ""


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def canonical(row: SignatureEvidence) -> str:
    content = {
        "request": str(row.request_id),
        "signer": str(row.signer_id) if row.signer_id else None,
        "seq": row.seq,
        "at": row.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "event": row.event,
        "actor": row.actor_label,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "otp_result": row.otp_result,
        "document_sha256": row.document_sha256,
        "consent_sha256": row.consent_sha256,
        "details": row.details,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record(
    request: SigningRequest,
    event: str,
    client: Client | None = None,
    *,
    signer: Signer | None = None,
    otp_result: str = "",
    document_sha256: str = "",
    consent_sha256: str = "",
    details: dict[str, Any] | None = None,
) -> SignatureEvidence:
    """Append one row. The caller holds the lock on ``request`` (select_for_update)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Evidence is recorded inside the step's transaction")
    last = SignatureEvidence.objects.filter(request=request).order_by("-seq").first()
    actor = client.actor if client else None
    row = SignatureEvidence(
        request=request,
        signer=signer,
        seq=(last.seq + 1) if last else 1,
        at=timezone.now(),
        event=event,
        actor_label=(actor.display if actor else "system")[:200],
        ip=actor.ip if actor else None,
        user_agent=(client.user_agent if client else "")[:400],
        otp_result=otp_result,
        document_sha256=document_sha256,
        consent_sha256=consent_sha256,
        details=details or {},
        prev_hash=last.hash if last else GENESIS,
    )
    row.hash = sha256(row.prev_hash + canonical(row))
    row.save(force_insert=True)
    return row


def rows(request: SigningRequest):
    return SignatureEvidence.objects.filter(request=request).select_related("signer")


def verify(request: SigningRequest) -> tuple[bool, str]:
    """Recompute the chain; (True, last hash) or (False, what broke)."""
    prev = GENESIS
    for i, row in enumerate(rows(request).order_by("seq"), start=1):
        if row.seq != i:
            return False, f"row {i} is missing"
        if row.prev_hash != prev or sha256(prev + canonical(row)) != row.hash:
            return False, f"row {i} does not match its hash"
        prev = row.hash
    return True, prev


def as_json(request: SigningRequest) -> list[dict[str, Any]]:
    """The trail as data (embedded in the sealed PDF; shown to staff)."""
    out = []
    for row in rows(request).order_by("seq"):
        out.append(
            {
                **json.loads(canonical(row)),
                "signer_name": row.signer.name if row.signer else "",
                "signer_email": row.signer.email if row.signer else "",
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            }
        )
    return out
