"""E-mails of the signing ceremony, and the secrets that only the outgoing copy carries.

TRICKY: a signer's personal link and one-time code must never be readable by staff — not on a
page, not in the outbound-message ledger (which stores bodies), not in an API answer, not in
the failed-jobs page (which shows job arguments). So the stored body holds a placeholder,
``[[signing:link:<signer id>]]`` or ``[[signing:code:<signer id>:<request nonce>]]``, and
``fill_secrets`` — registered with messaging's send-time fillers — replaces it on the copy
that goes to the SMTP server, minting the link (``public_tokens``, hash stored) or the code
(``otp.mint_code``, keyed hash stored) at that moment. The secret exists only in the e-mail.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.messaging.services import queue_email, send_time_filler
from throughline.signing.models import Signer, SigningRequest

PLACEHOLDER = re.compile(
    r"\[\[signing:(?P<kind>link|code):(?P<signer>[0-9a-f-]{36})(?::(?P<nonce>[0-9a-f]{32}))?\]\]"
)


def link_placeholder(signer: Signer) -> str:
    return f"[[signing:link:{signer.pk}]]"


def code_placeholder(signer: Signer, nonce: str) -> str:
    return f"[[signing:code:{signer.pk}:{nonce}]]"


def _absolute(path: str) -> str:
    return settings.BASE_URL + path


def _subject(text: str) -> str:
    return " ".join(text.split())[:300]


def _send(
    actor: Actor,
    *,
    to: str,
    subject: str,
    template: str,
    context: dict[str, Any],
    contact=None,
    source: str,
    reply_to: str = "",
    attachments: list[dict[str, str]] | None = None,
):
    body = render_to_string(template, {**context, "organization": Organization.current()})
    return queue_email(
        actor,
        to=to,
        subject=_subject(subject),
        body_text=body,
        contact=contact,
        template_key=template.rsplit("/", 1)[-1].removesuffix(".txt")[:80],
        source=source,
        reply_to=reply_to,
        **({"attachments": attachments} if attachments else {}),
    )


def _source(request: SigningRequest) -> str:
    return f"signing.contract:{request.contract_id}"


def _reply_to(request: SigningRequest) -> str:
    owner = request.contract.owner
    return owner.email if owner else ""


def _send_to_signer(
    actor: Actor,
    signer: Signer,
    *,
    subject: str,
    template: str,
    attachments: list | None = None,
    **extra_context,
) -> None:
    """An e-mail to one signer about their request, carrying their personal link placeholder."""
    request = signer.request
    _send(
        actor,
        to=signer.email,
        contact=signer.contact,
        subject=subject,
        template=template,
        context={
            "signer": signer,
            "contract": request.contract,
            "request": request,
            "link": link_placeholder(signer),
            **extra_context,
        },
        source=_source(request),
        reply_to=_reply_to(request),
        attachments=attachments,
    )


def send_invitation(actor: Actor, signer: Signer) -> None:
    contract = signer.request.contract
    _send_to_signer(
        actor,
        signer,
        subject=f"Please sign: {contract.title} ({contract.number})",
        template="signing/email/invitation.txt",
        sender=signer.request.sent_by,
    )


def send_reminder(actor: Actor, signer: Signer) -> None:
    contract = signer.request.contract
    _send_to_signer(
        actor,
        signer,
        subject=f"Reminder: please sign {contract.title} ({contract.number})",
        template="signing/email/reminder.txt",
    )


def send_code(actor: Actor, signer: Signer, nonce: str) -> None:
    request = signer.request
    _send(
        actor,
        to=signer.email,
        contact=signer.contact,
        subject=f"Your code to sign {request.contract.number}",
        template="signing/email/code.txt",
        context={
            "signer": signer,
            "contract": request.contract,
            "code": code_placeholder(signer, nonce),
        },
        source=_source(request),
    )


def send_declined(actor: Actor, request: SigningRequest, decliner: Signer) -> None:
    contract = request.contract
    context = {"contract": contract, "decliner": decliner, "request": request}
    people = [s for s in request.signers.exclude(pk=decliner.pk) if s.invited_at]
    for signer in people:
        _send(
            actor,
            to=signer.email,
            contact=signer.contact,
            subject=f"{contract.number} was declined: {contract.title}",
            template="signing/email/declined.txt",
            context={**context, "signer": signer},
            source=_source(request),
        )
    if contract.owner and contract.owner.email not in {s.email for s in people}:
        _send(
            actor,
            to=contract.owner.email,
            subject=f"{decliner.name} declined {contract.number}: {contract.title}",
            template="signing/email/declined_staff.txt",
            context={
                **context,
                "url": _absolute(reverse("signing:contract_detail", args=[contract.pk])),
            },
            source=_source(request),
        )


def send_voided(actor: Actor, signer: Signer, reason: str) -> None:
    contract = signer.request.contract
    _send(
        actor,
        to=signer.email,
        contact=signer.contact,
        subject=f"Withdrawn: {contract.title} ({contract.number})",
        template="signing/email/voided.txt",
        context={"signer": signer, "contract": contract, "reason": reason},
        source=_source(signer.request),
    )


def send_completed(actor: Actor, request: SigningRequest) -> None:
    """Every party gets the sealed PDF attached and a personal link to download it again."""
    contract = request.contract
    attachment = [
        {
            "filename": f"{contract.number}-signed.pdf",
            "content_type": "application/pdf",
            "storage_name": request.sealed_document.name,
        }
    ]
    for signer in request.signers.all():
        _send_to_signer(
            actor,
            signer,
            subject=f"Signed by everyone: {contract.title} ({contract.number})",
            template="signing/email/completed.txt",
            attachments=attachment,
        )
    if contract.owner and contract.owner.email not in {s.email for s in request.signers.all()}:
        _send(
            actor,
            to=contract.owner.email,
            subject=f"Signed: {contract.number} {contract.title}",
            template="signing/email/completed_staff.txt",
            context={
                "contract": contract,
                "request": request,
                "url": _absolute(reverse("signing:contract_detail", args=[contract.pk])),
            },
            source=_source(request),
            attachments=attachment,
        )


# --- the send-time filler ----------------------------------------------------------------------

UNAVAILABLE_LINK = "(this link is no longer available: the signing request has ended)"
STALE_CODE = "(no code: a newer code was requested, or signing has ended — use the newest e-mail)"


def _fill_one(match: re.Match, to_email: str) -> str:
    from throughline.signing.services import ceremony, otp

    signer = Signer.objects.select_related("request").filter(pk=match.group("signer")).first()
    # Only ever into the signer's own mailbox: a placeholder copied into another message
    # mints nothing.
    if signer is None or signer.email.lower() != (to_email or "").lower():
        return UNAVAILABLE_LINK
    if match.group("kind") == "code":
        code = otp.mint_code(str(signer.pk), match.group("nonce") or "")
        return code or STALE_CODE
    status = signer.request.status
    if status not in (
        SigningRequest.Status.OPEN,
        SigningRequest.Status.SEALING,
        SigningRequest.Status.COMPLETED,
    ):
        return UNAVAILABLE_LINK
    raw = ceremony.issue_link(signer)
    return _absolute(reverse("signing_portal:sign", args=[raw]))


@send_time_filler
def fill_secrets(message, text: str) -> str:
    """Messaging calls this on each outgoing body; only signing's placeholders change."""
    if not text or "[[signing:" not in text:
        return text
    if not (message.source or "").startswith("signing."):
        return text  # a placeholder typed into another e-mail is left as it is
    return PLACEHOLDER.sub(lambda match: _fill_one(match, message.to_email), text)
