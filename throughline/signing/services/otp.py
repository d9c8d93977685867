"""One-time codes: the signer proves they read their own mailbox, so a forwarded link can't sign.

* ``request_code`` (rate-limited: one a minute, five an hour) only *asks* for a code: it queues
  an e-mail whose stored body holds a placeholder, never the code.
* ``mint_code`` runs when that e-mail is sent (messaging's send-time filler, see
  ``services.notify``): it draws the code, stores its keyed hash with a 10-minute expiry, and
  returns the code for the outgoing message only. The code is in no table, log or page.
* ``verify_code`` checks it (five attempts), burns it, and starts a signing session bound to
  this signer (a nonce the browser keeps in a signed cookie, see ``ceremony.session_*``).

Failures are recorded as evidence and counted *before* the refusal is raised, so a wrong code
costs an attempt even though the caller sees an error.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.signing.models import SignatureEvidence, Signer, SigningRequest
from throughline.signing.services import evidence
from throughline.signing.services.evidence import Client

CODE_DIGITS = 6
CODE_TTL = dt.timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_GAP = dt.timedelta(seconds=60)
SEND_WINDOW = dt.timedelta(hours=1)
MAX_SENDS_PER_WINDOW = 5
Result = SignatureEvidence.OtpResult


def code_hash(signer: Signer, code: str) -> str:
    key = hashlib.sha256(f"throughline.signing.otp:{settings.SECRET_KEY}".encode()).digest()
    return hmac.new(key, f"{signer.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def _lock(signer: Signer) -> tuple[SigningRequest, Signer]:
    request = SigningRequest.objects.select_for_update().get(pk=signer.request_id)
    return request, Signer.objects.select_for_update().get(pk=signer.pk)


def request_code(client: Client, signer: Signer) -> Signer:
    """Queue an e-mail with a fresh code for ``signer``; refused when asked too often."""
    from throughline.signing.services import ceremony, notify

    refusal = ""
    with transaction.atomic():
        request, signer = _lock(signer)
        ceremony.check_can_act(request, signer)
        ceremony.check_turn(request, signer)
        now = timezone.now()
        if signer.otp_requested_at and now - signer.otp_requested_at < RESEND_GAP:
            wait = int((RESEND_GAP - (now - signer.otp_requested_at)).total_seconds()) + 1
            refusal = f"A code was just sent. Wait {wait} seconds before asking for another."
        else:
            if (
                signer.otp_window_started_at is None
                or now - signer.otp_window_started_at >= SEND_WINDOW
            ):
                signer.otp_window_started_at, signer.otp_window_count = now, 0
            if signer.otp_window_count >= MAX_SENDS_PER_WINDOW:
                left = SEND_WINDOW - (now - signer.otp_window_started_at)
                minutes = int(left.total_seconds() // 60) + 1
                refusal = f"Too many codes were requested. Try again in {minutes} minutes."
        if refusal:
            evidence.record(
                request,
                SignatureEvidence.Event.REFUSED,
                client,
                signer=signer,
                details={"action": "otp.request", "reason": refusal},
            )
        else:
            signer.otp_window_count += 1
            signer.otp_requested_at = now
            signer.otp_request_nonce = secrets.token_hex(16)
            # A new request voids the previous code at once.
            signer.otp_hash, signer.otp_expires_at, signer.otp_attempts = "", None, 0
            signer.save(
                update_fields=[
                    "otp_window_started_at",
                    "otp_window_count",
                    "otp_requested_at",
                    "otp_request_nonce",
                    "otp_hash",
                    "otp_expires_at",
                    "otp_attempts",
                    "updated_at",
                ]
            )
            evidence.record(request, SignatureEvidence.Event.OTP_REQUESTED, client, signer=signer)
            notify.send_code(client.actor, signer, signer.otp_request_nonce)
    if refusal:
        raise ValidationError({"code": refusal})
    return signer


def mint_code(signer_id: str, nonce: str) -> str | None:
    """Draw the code for the e-mail being sent now; None when that request is stale."""
    with transaction.atomic():
        signer = Signer.objects.filter(pk=signer_id).first()
        if signer is None:
            return None
        request, signer = _lock(signer)
        if (
            not nonce
            or signer.otp_request_nonce != nonce
            or signer.is_done
            or request.status != SigningRequest.Status.OPEN
        ):
            return None
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        signer.otp_hash = code_hash(signer, code)
        signer.otp_expires_at = timezone.now() + CODE_TTL
        signer.otp_attempts = 0
        signer.save(update_fields=["otp_hash", "otp_expires_at", "otp_attempts", "updated_at"])
        evidence.record(
            request,
            SignatureEvidence.Event.OTP_SENT,
            signer=signer,
            details={
                "to": signer.email,
                "expires_at": signer.otp_expires_at.isoformat(timespec="seconds"),
            },
        )
        return code


def verify_code(client: Client, signer: Signer, code: str) -> str:
    """Check the code; returns the new session nonce. Refusals are recorded, then raised."""
    from throughline.signing.services import ceremony

    code = "".join(ch for ch in str(code or "") if ch.isdigit())
    with transaction.atomic():
        request, signer = _lock(signer)
        ceremony.check_can_act(request, signer)
        now = timezone.now()
        if not signer.otp_hash:
            result, message = Result.MISSING, "Ask for a code first (or ask again: it was used)."
        elif signer.otp_attempts >= MAX_ATTEMPTS:
            result, message = Result.LOCKED, "Too many wrong codes. Ask for a new code."
        elif signer.otp_expires_at is None or signer.otp_expires_at <= now:
            result, message = Result.EXPIRED, "This code has expired. Ask for a new code."
        elif len(code) != CODE_DIGITS or not hmac.compare_digest(
            code_hash(signer, code), signer.otp_hash
        ):
            signer.otp_attempts += 1
            left = MAX_ATTEMPTS - signer.otp_attempts
            result = Result.WRONG
            message = (
                f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
                if left
                else "That code is not right, and that was the last attempt. Ask for a new code."
            )
        else:
            result, message = Result.OK, ""
        if result == Result.OK:
            signer.otp_hash, signer.otp_expires_at = "", None  # single use
            signer.verified_at = now
            signer.session_nonce = secrets.token_hex(16)
        signer.save(
            update_fields=[
                "otp_hash",
                "otp_expires_at",
                "otp_attempts",
                "verified_at",
                "session_nonce",
                "updated_at",
            ]
        )
        evidence.record(
            request,
            SignatureEvidence.Event.OTP_CHECKED,
            client,
            signer=signer,
            otp_result=result,
            details={"attempt": signer.otp_attempts} if result == Result.WRONG else {},
        )
    if result != Result.OK:
        raise ValidationError({"code": message})
    return signer.session_nonce
