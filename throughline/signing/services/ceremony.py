"""The signing ceremony, step by step, for one signer reached by their personal link.

link (``public_tokens``, scope "signing") → one-time code to their own e-mail (``otp``) →
a session bound to this signer (signed cookie, ``session_*``) → consent (versioned wording) →
the full document shown (its SHA-256 recorded) → adopt a signature → sign; or decline.

Every check that can refuse is in ``check_can_act`` / ``check_turn`` and runs under the
request's row lock. A refusal is recorded as evidence and then raised: the caller gets a clear
message and nothing else changes. When the last signer signs, the request waits for its seal
(``tasks.seal_request``), which emits ``contract.signed``.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from throughline.core import audit_log, events, public_tokens
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.signing.models import Contract, SignatureEvidence, Signer, SigningRequest
from throughline.signing.services import consent, evidence, notify, signatures
from throughline.signing.services.evidence import Client

TOKEN_SCOPE = "signing"  # noqa: S105 - a scope name, not a secret
SESSION_AGE = dt.timedelta(hours=2)
OPEN_EVIDENCE_GAP = dt.timedelta(minutes=10)
# After completion a party's link still opens the signed copy for this long.
COPY_LINK_DAYS = 365
Event = SignatureEvidence.Event


class Refused(ValidationError):
    """The step is not allowed now; the message says why (and nothing was changed)."""


# --- links -------------------------------------------------------------------------------


def issue_link(signer: Signer) -> str:
    """A fresh personal link's token (only its hash is stored). Called at send time only."""
    request = signer.request
    if request.status in (SigningRequest.Status.COMPLETED, SigningRequest.Status.SEALING):
        expires = timezone.now() + dt.timedelta(days=COPY_LINK_DAYS)
    else:
        expires = max(request.expires_at, timezone.now() + dt.timedelta(minutes=5))
    return public_tokens.issue_token(TOKEN_SCOPE, signer, expires_at=expires)


def signer_for_token(raw: str) -> Signer:
    """The signer a link belongs to, or ``TokenInvalid`` / ``TokenExpired``."""
    found = public_tokens.resolve_token(raw, TOKEN_SCOPE)
    if not isinstance(found, Signer):
        raise public_tokens.TokenInvalid("Unknown link.")
    return Signer.objects.select_related("request", "request__contract").get(pk=found.pk)


def revoke_links(request: SigningRequest) -> int:
    return sum(public_tokens.revoke_tokens(TOKEN_SCOPE, s) for s in request.signers.all())


# --- session binding ------------------------------------------------------------------------


def session_cookie_name(signer: Signer) -> str:
    return f"tl_sign_{signer.pk.hex[:16]}"


def session_salt(signer: Signer) -> str:
    return f"throughline.signing.session:{signer.pk}"


def has_session(http_request, signer: Signer) -> bool:
    """This browser passed this signer's one-time code (and no newer browser did since)."""
    if not signer.session_nonce:
        return False
    value = http_request.get_signed_cookie(
        session_cookie_name(signer),
        default=None,
        salt=session_salt(signer),
        max_age=SESSION_AGE.total_seconds(),
    )
    return bool(value) and value == signer.session_nonce


# --- checks ------------------------------------------------------------------------------------


def closed_reason(request: SigningRequest, signer: Signer) -> str:
    """Why this signer can do nothing more here ("" when they still can)."""
    status = SigningRequest.Status
    if request.status == status.VOIDED:
        return "The sender withdrew (voided) this document. Nothing can be signed any more."
    if request.status == status.DECLINED:
        return "This document was declined, so it can no longer be signed."
    if request.status in (status.SEALING, status.COMPLETED):
        return "Everyone has signed this document. This link cannot be used to sign again."
    if request.status == status.EXPIRED or request.expires_at <= timezone.now():
        return "The time to sign this document has run out. Ask the sender for a new one."
    if signer.status == Signer.Status.SIGNED:
        return "You have signed this document already. This link cannot be used to sign again."
    if signer.status == Signer.Status.DECLINED:
        return "You declined to sign this document."
    return ""


def check_can_act(request: SigningRequest, signer: Signer) -> None:
    reason = closed_reason(request, signer)
    if reason:
        raise Refused({"__all__": reason})


def waiting_for(request: SigningRequest, signer: Signer) -> list[Signer]:
    """Signers who must sign before ``signer`` (in order mode)."""
    if not request.sequential:
        return []
    return list(request.signers.filter(order__lt=signer.order).exclude(status=Signer.Status.SIGNED))


def check_turn(request: SigningRequest, signer: Signer) -> None:
    earlier = waiting_for(request, signer)
    if earlier:
        names = ", ".join(s.name for s in earlier)
        raise Refused({"__all__": f"It is not your turn yet: {names} must sign first."})


def _lock(signer: Signer) -> tuple[SigningRequest, Signer]:
    request = (
        SigningRequest.objects.select_for_update(of=("self",))
        .select_related("contract")
        .get(pk=signer.request_id)
    )
    return request, Signer.objects.select_for_update().get(pk=signer.pk)


def _refuse(client: Client, signer: Signer, action: str, exc: ValidationError) -> None:
    """Record a refusal in its own transaction (the step's own was rolled back)."""
    with transaction.atomic():
        request, signer = _lock(signer)
        evidence.record(
            request,
            Event.REFUSED,
            client,
            signer=signer,
            details={"action": action, "reason": " ".join(exc.messages)},
        )


def _guarded(action: str):
    """Run a step in a transaction; on ``Refused``/``ValidationError`` record it, re-raise."""

    def decorate(fn):
        def wrapped(client: Client, signer: Signer, *args, **kwargs):
            try:
                with transaction.atomic():
                    return fn(client, signer, *args, **kwargs)
            except ValidationError as exc:
                _refuse(client, signer, action, exc)
                raise

        wrapped.__name__, wrapped.__doc__ = fn.__name__, fn.__doc__
        return wrapped

    return decorate


# --- steps -------------------------------------------------------------------------------------


@transaction.atomic
def record_open(client: Client, signer: Signer) -> None:
    """The link was opened (recorded at most every few minutes per signer)."""
    request, signer = _lock(signer)
    recent = SignatureEvidence.objects.filter(
        signer=signer, event=Event.LINK_OPENED, at__gte=timezone.now() - OPEN_EVIDENCE_GAP
    ).exists()
    if not recent:
        evidence.record(request, Event.LINK_OPENED, client, signer=signer)


@_guarded("consent")
def give_consent(client: Client, signer: Signer, *, agreed: bool) -> Signer:
    request, signer = _lock(signer)
    check_can_act(request, signer)
    if not agreed:
        raise Refused({"consent": "Tick the box to agree to sign electronically, or decline."})
    org = str(Organization.current())
    signer.consent_version = request.consent_version
    signer.consented_at = timezone.now()
    signer.save(update_fields=["consent_version", "consented_at", "updated_at"])
    evidence.record(
        request,
        Event.CONSENT,
        client,
        signer=signer,
        consent_sha256=consent.wording_sha256(request.consent_version, org),
        details={"version": request.consent_version},
    )
    return signer


def document_bytes(request: SigningRequest) -> bytes:
    """The stored document, checked against the hash recorded when it was sent."""
    with request.document.open("rb") as handle:
        data = handle.read()
    if evidence.sha256(data) != request.document_sha256:
        raise Refused(
            {"__all__": "The document on file no longer matches the one sent; it cannot be signed."}
        )
    return data


@transaction.atomic
def show_document(client: Client, signer: Signer, *, shown_html: str) -> str:
    """The full document is shown: record the hash of the PDF and of the page's text."""
    request, signer = _lock(signer)
    data_hash = evidence.sha256(document_bytes(request))
    first = signer.first_viewed_at is None
    now = timezone.now()
    if first:
        signer.first_viewed_at = now
        if signer.status == Signer.Status.INVITED:
            signer.status = Signer.Status.VIEWED
        signer.save(update_fields=["first_viewed_at", "status", "updated_at"])
    evidence.record(
        request,
        Event.DOCUMENT_SHOWN,
        client,
        signer=signer,
        document_sha256=data_hash,
        details={"html_sha256": evidence.sha256(shown_html)},
    )
    if first:
        contract = request.contract
        audit_log.record(
            client.actor, "contract.viewed", contract, changes={"signer": [None, signer.email]}
        )
        events.emit(
            client.actor,
            "contract.viewed",
            contract,
            request_id=str(request.pk),
            signer_id=str(signer.pk),
            role=signer.role,
            deal_id=str(contract.deal_id),
        )
    return data_hash


@transaction.atomic
def download_document(client: Client, signer: Signer) -> bytes:
    request, signer = _lock(signer)
    data = document_bytes(request)
    evidence.record(
        request,
        Event.DOCUMENT_DOWNLOADED,
        client,
        signer=signer,
        document_sha256=evidence.sha256(data),
    )
    return data


@_guarded("sign")
def sign(
    client: Client,
    signer: Signer,
    *,
    document_sha256: str,
    kind: str,
    name: str = "",
    drawing: str = "",
    agreed: bool = False,
    session_ok: bool = False,
) -> Signer:
    """Sign the document shown. Refused unless every rule of the ceremony holds."""
    request, signer = _lock(signer)
    check_can_act(request, signer)
    check_turn(request, signer)
    if not session_ok or signer.verified_at is None:
        raise Refused({"code": "Confirm the one-time code from your e-mail first."})
    if signer.consented_at is None or signer.consent_version != request.consent_version:
        raise Refused({"consent": "Agree to sign electronically first."})
    if not SignatureEvidence.objects.filter(signer=signer, event=Event.DOCUMENT_SHOWN).exists():
        raise Refused({"__all__": "Read the document before signing it."})
    stored = evidence.sha256(document_bytes(request))
    if (document_sha256 or "").strip().lower() != stored or stored != request.document_sha256:
        raise Refused(
            {
                "__all__": "The document changed since you opened it. "
                "Reload the page and review it again before signing."
            }
        )
    if not agreed:
        raise Refused({"agreed": "Tick the box to confirm you sign this document."})
    adopted = signatures.adopt(kind, name=name, drawing=drawing)
    now = timezone.now()
    signer.status = Signer.Status.SIGNED
    signer.signed_at = now
    signer.signature_kind = adopted.kind
    signer.signature_text = adopted.text or signer.name
    signer.signature_png = adopted.png
    signer.signature_sha256 = evidence.sha256(adopted.png)
    signer.session_nonce = ""  # the session ends with the signature
    signer.save(
        update_fields=[
            "status",
            "signed_at",
            "signature_kind",
            "signature_text",
            "signature_png",
            "signature_sha256",
            "session_nonce",
            "updated_at",
        ]
    )
    org = str(Organization.current())
    evidence.record(
        request,
        Event.SIGNED,
        client,
        signer=signer,
        document_sha256=stored,
        consent_sha256=consent.wording_sha256(signer.consent_version, org),
        details={
            "signature": adopted.kind,
            "signature_sha256": signer.signature_sha256,
            "typed_name": adopted.text,
            "otp_verified_at": signer.verified_at.isoformat(timespec="seconds"),
        },
    )
    audit_log.record(
        client.actor,
        "contract.signer_signed",
        request.contract,
        changes={"signer": [None, signer.email], "document_sha256": [None, stored]},
    )
    if not request.signers.exclude(status=Signer.Status.SIGNED).exists():
        _complete(client, request)
    else:
        invite_due(client.actor, request)
    return signer


def _complete(client: Client, request: SigningRequest) -> None:
    from throughline.signing.tasks import seal_request

    request.status = SigningRequest.Status.SEALING
    request.save(update_fields=["status", "updated_at"])
    evidence.record(
        request,
        Event.COMPLETED,
        client,
        document_sha256=request.document_sha256,
        details={"signers": request.signers.count()},
    )
    seal_request.enqueue(str(request.pk))


@_guarded("decline")
def decline(client: Client, signer: Signer, *, reason: str, session_ok: bool = False) -> Signer:
    request, signer = _lock(signer)
    check_can_act(request, signer)
    if not session_ok or signer.verified_at is None:
        raise Refused({"code": "Confirm the one-time code from your e-mail first."})
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise Refused({"reason": "Tell the sender why you decline."})
    now = timezone.now()
    signer.status, signer.declined_at, signer.decline_reason = Signer.Status.DECLINED, now, reason
    signer.session_nonce = ""
    signer.save(
        update_fields=["status", "declined_at", "decline_reason", "session_nonce", "updated_at"]
    )
    request.status = SigningRequest.Status.DECLINED
    request.ended_at, request.end_reason = now, f"Declined by {signer.name}: {reason}"
    request.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    evidence.record(request, Event.DECLINED, client, signer=signer, details={"reason": reason})
    contract = Contract.objects.select_for_update().get(pk=request.contract_id)
    contract.status = Contract.Status.DECLINED
    contract.save(update_fields=["status", "updated_at"])
    audit_log.record(
        client.actor,
        "contract.declined",
        contract,
        changes={
            "status": ["sent", "declined"],
            "signer": [None, signer.email],
            "reason": [None, reason],
        },
    )
    revoke_links(request)
    notify.send_declined(client.actor, request, signer)
    return signer


def invite_due(actor: Actor, request: SigningRequest) -> int:
    """Invite the signers whose turn it is (all at once without an order). Idempotent."""
    pending = request.signers.filter(status=Signer.Status.WAITING)
    if request.sequential:
        first_open = request.signers.exclude(status=Signer.Status.SIGNED).aggregate(m=Min("order"))
        pending = pending.filter(order=first_open["m"])
    invited = 0
    now = timezone.now()
    for signer in pending:
        signer.status, signer.invited_at = Signer.Status.INVITED, now
        signer.save(update_fields=["status", "invited_at", "updated_at"])
        notify.send_invitation(actor, signer)
        evidence.record(
            request, Event.INVITED, Client(actor), signer=signer, details={"to": signer.email}
        )
        invited += 1
    return invited


# --- sweeps ------------------------------------------------------------------------------------


def expire_due(now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    actor = Actor.system(label="signing expiry")
    done = 0
    for request_id in SigningRequest.objects.filter(
        status=SigningRequest.Status.OPEN, expires_at__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            request = SigningRequest.objects.select_for_update().get(pk=request_id)
            if request.status != SigningRequest.Status.OPEN or request.expires_at > now:
                continue
            request.status, request.ended_at = SigningRequest.Status.EXPIRED, now
            request.end_reason = "Not signed in time."
            request.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
            evidence.record(request, Event.EXPIRED)
            revoke_links(request)
            Contract.objects.filter(pk=request.contract_id, status=Contract.Status.SENT).update(
                status=Contract.Status.EXPIRED, updated_at=now
            )
            audit_log.record(
                actor,
                "contract.expired",
                request.contract,
                changes={"status": ["sent", "expired"]},
            )
            done += 1
    return done


def remind_due(now: dt.datetime | None = None) -> int:
    """E-mail invited signers who have not signed, every ``reminder_days`` (claimed per
    signer with a conditional UPDATE, so two workers never send the same reminder)."""
    from throughline.signing.models import SigningSettings

    now = now or timezone.now()
    days = SigningSettings.current().reminder_days
    if not days:
        return 0
    cutoff = now - dt.timedelta(days=days)
    actor = Actor.system(label="signing reminders")
    due = Signer.objects.filter(
        request__status=SigningRequest.Status.OPEN,
        request__expires_at__gt=now,
        status__in=[Signer.Status.INVITED, Signer.Status.VIEWED],
        invited_at__lte=cutoff,
    ).exclude(last_reminded_at__gt=cutoff)
    sent = 0
    for signer in due:
        with transaction.atomic():
            claimed = (
                Signer.objects.filter(pk=signer.pk, status=signer.status)
                .exclude(last_reminded_at__gt=cutoff)
                .update(last_reminded_at=now, reminders_sent=signer.reminders_sent + 1)
            )
            if claimed != 1:
                continue
            request = SigningRequest.objects.select_for_update().get(pk=signer.request_id)
            notify.send_reminder(actor, signer)
            evidence.record(
                request, Event.REMINDED, Client(actor), signer=signer, details={"to": signer.email}
            )
            sent += 1
    return sent
