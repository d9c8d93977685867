"""``Idempotency-Key`` on every POST of the API (DESIGN §6), for every view in one place.

``ApiViewMixin.dispatch`` (api/views.py) calls these after authentication and the permission
check, so a refused request is never remembered:

1. ``begin`` claims the key by inserting an ``IdempotencyRecord`` with no status yet (unique
   per user and key, committed at once so a concurrent duplicate sees it).
   - same key, same request, answered before → the stored response, ``Idempotent-Replayed: true``;
   - same key, other request (method, path or body) → 422;
   - same key, still in flight → 409 (try again shortly).
2. The handler runs in a transaction, and ``settle`` stores status and body **in that same
   transaction**: either the change and its remembered response both commit, or neither does and
   the claim is left without a status. A claim left that way by a crashed process is taken over
   after ``IN_FLIGHT_TIMEOUT``; ``settle`` only writes to a claim it still holds, so a slow first
   request that lost its claim rolls back instead of writing twice.
3. Server errors (5xx) are not remembered: the claim is released and the client may retry.

Bodies are compared as canonical JSON (key order and spacing do not matter).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import exceptions

from throughline.api.errors import Conflict, Unprocessable
from throughline.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Longer than any request is allowed to run behind the WSGI server's timeout.
IN_FLIGHT_TIMEOUT = dt.timedelta(minutes=2)
# A key is remembered this long; after that it may be used again for a new request.
RETENTION = dt.timedelta(hours=24)


@dataclass
class Claim:
    record_id: int
    settled: bool = False


def fingerprint(request) -> str:
    """Method, path and body (canonical JSON when it parses) of a request."""
    body = request.body or b""
    try:
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        pass  # not JSON: the handler will say so; compare the raw bytes meanwhile
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(
        bytes(record.response_body or b""),
        status=record.status_code,
        content_type=record.content_type or None,
    )
    response[REPLAYED_HEADER] = "true"
    return response


def begin(request) -> tuple[Claim | None, HttpResponse | None]:
    """``(claim, None)`` to go ahead, ``(None, response)`` to replay, ``(None, None)`` if no key."""
    if request.method != "POST" or HEADER not in request.headers:
        return None, None
    user = request.user
    if user is None or not user.is_authenticated:
        return None, None  # keys are scoped per user; public POSTs have none
    key = request.headers[HEADER].strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError(
            {HEADER: [f"Give 1 to {MAX_KEY_LENGTH} characters (a UUID is a good key)."]}
        )
    request_hash = fingerprint(request)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    key=key,
                    user=user,
                    method=request.method,
                    path=request.path[:500],
                    request_hash=request_hash,
                )
            return Claim(record.pk), None
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            continue  # released in between: claim it now
        now = timezone.now()
        expired = record.created_at < now - RETENTION
        abandoned = record.status_code is None and record.created_at < now - IN_FLIGHT_TIMEOUT
        if expired or abandoned:
            # Conditional: a settle that lands first keeps its record.
            IdempotencyRecord.objects.filter(
                pk=record.pk, status_code=record.status_code, created_at=record.created_at
            ).delete()
            continue
        if record.request_hash != request_hash:
            raise Unprocessable(
                f"This {HEADER} was used for a different request "
                f"({record.method} {record.path} with another body); use a new key."
            )
        if record.status_code is None:
            raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly.")
        return None, _replay(record)
    raise Conflict(f"A request with this {HEADER} is still being processed; retry shortly.")


def settle(claim: Claim | None, response) -> bool:
    """Remember the response for the claim, or release it on a server error.

    Returns False when the claim was taken over meanwhile (we ran past ``IN_FLIGHT_TIMEOUT``):
    the caller must then undo its change, the other request owns the key now.
    """
    if claim is None or claim.settled:
        return True
    claim.settled = True
    pending = IdempotencyRecord.objects.filter(pk=claim.record_id, status_code__isnull=True)
    if response.status_code >= 500:
        pending.delete()
        return True
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    stored = pending.update(
        status_code=response.status_code,
        response_body=response.content,
        content_type=response.get("Content-Type", ""),
    )
    return stored == 1


def release(claim: Claim | None) -> None:
    """Forget an unsettled claim (the request failed before it had an answer)."""
    if claim is None or claim.settled:
        return
    claim.settled = True
    IdempotencyRecord.objects.filter(pk=claim.record_id, status_code__isnull=True).delete()
