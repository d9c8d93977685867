"""Queue, deliver and suppress e-mail. Every message is a durable row sent by a job."""

from __future__ import annotations

import logging
import smtplib
from email.utils import make_msgid
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.jobs import PermanentJobError, enqueue, job
from throughline.core.lookup_cache import cached_config
from throughline.crm.models import Contact
from throughline.crm.normalize import normalize_email
from throughline.crm.services import has_consent
from throughline.messaging.models import EmailTemplate, Kind, OutboundMessage, Suppression
from throughline.messaging.rendering import render_email

logger = logging.getLogger(__name__)
MARKETING_CONSENT_PURPOSE = "marketing"


def _domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "localhost"


def suppression_for(email: str) -> Suppression | None:
    try:
        _, normalized = normalize_email(email)
    except ValidationError:
        return None
    return Suppression.objects.filter(email_normalized=normalized).first()


def _blocked_reason(to_email: str, kind: str, contact: Contact | None) -> str:
    suppression = suppression_for(to_email)
    if suppression is not None and (kind == Kind.MARKETING or suppression.blocks_transactional):
        return f"address suppressed ({suppression.reason})"
    if kind == Kind.MARKETING and (
        contact is None or not has_consent(contact, MARKETING_CONSENT_PURPOSE)
    ):
        return "no marketing consent on record"
    return ""


@transaction.atomic
def queue_email(
    actor: Actor,
    *,
    to: str,
    subject: str,
    body_text: str,
    body_html: str = "",
    contact: Contact | None = None,
    kind: str = Kind.TRANSACTIONAL,
    template_key: str = "",
    source: str = "",
    reply_to: str = "",
    idempotency_key: str | None = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboundMessage:
    """Record the message and enqueue its delivery in the caller's transaction.

    With ``idempotency_key``, a second call returns the first message and sends nothing.
    ``attachments``: files already in the default storage, as
    ``[{"filename", "content_type", "storage_name"}]``; they travel with the delivery job.
    """
    if idempotency_key:
        existing = OutboundMessage.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    refs = _attachment_refs(attachments) if attachments else None
    display, _ = normalize_email(to)
    reason = _blocked_reason(display, kind, contact)
    message = OutboundMessage.objects.create(
        to_email=display,
        contact=contact,
        kind=kind,
        template_key=template_key,
        subject=subject[:300],
        body_text=body_text,
        body_html=body_html,
        from_email=settings.DEFAULT_FROM_EMAIL,
        reply_to=reply_to,
        message_id=make_msgid(domain=_domain()),
        status=OutboundMessage.Status.SUPPRESSED if reason else OutboundMessage.Status.QUEUED,
        status_reason=reason,
        source=source,
        idempotency_key=idempotency_key,
    )
    audit_log.record(
        actor,
        "email.suppressed" if reason else "email.queued",
        message,
        changes={
            "to": [None, display],
            "subject": [None, message.subject],
            "reason": [None, reason],
            **({"attachments": [None, [a["filename"] for a in refs]]} if refs else {}),
        },
    )
    if not reason:
        if refs:
            enqueue(deliver_message, str(message.pk), refs)
        else:
            enqueue(deliver_message, str(message.pk))
    return message


def _attachment_refs(attachments: list[dict[str, str]]) -> list[dict[str, str]]:
    keys = ("filename", "content_type", "storage_name")
    refs = [{key: str(item[key]) for key in keys} for item in attachments]
    if any(not all(ref.values()) for ref in refs):
        raise ValueError("Each attachment needs filename, content_type and storage_name.")
    return refs


def queue_templated_email(
    actor: Actor,
    template_key: str,
    *,
    to: str,
    context: dict[str, Any],
    contact: Contact | None = None,
    source: str = "",
    idempotency_key: str | None = None,
) -> OutboundMessage:
    template = cached_config(
        ("messaging.template", template_key),
        lambda: EmailTemplate.objects.filter(key=template_key).first(),
    )
    if template is None:
        raise ValidationError({"template": f"No e-mail template {template_key!r}."})
    rendered = render_email(template.subject, template.body_text, template.body_html, context)
    return queue_email(
        actor,
        to=to,
        subject=rendered.subject,
        body_text=rendered.body_text,
        body_html=rendered.body_html,
        contact=contact,
        kind=template.kind,
        template_key=template.key,
        source=source,
        idempotency_key=idempotency_key,
    )


# Send-time fillers: an app whose e-mails carry a secret (signing's personal links and one-time
# codes) stores a placeholder in the body and registers ``fn(message, text) -> text`` here; it
# runs on the outgoing copy only, so the stored body (what staff screens show) never holds it.
_send_time_fillers: list[Any] = []


def send_time_filler(fn: Any) -> Any:
    _send_time_fillers.append(fn)
    return fn


# Send-time checks: an app whose queued e-mail may have become pointless by the time it goes
# out (a payment reminder for an invoice paid meanwhile) registers ``fn(message) -> reason``;
# a non-empty reason withdraws the message instead of sending it.
_send_time_checks: list[Any] = []


def send_time_check(fn: Any) -> Any:
    _send_time_checks.append(fn)
    return fn


def _withdrawn_reason(message: OutboundMessage) -> str:
    for check in _send_time_checks:
        reason = check(message)
        if reason:
            return f"withdrawn: {reason}"
    return ""


def unsubscribe_url(message: OutboundMessage) -> str:
    return settings.BASE_URL + reverse("messaging:unsubscribe", args=[message.unsubscribe_token])


def build_email(
    message: OutboundMessage, connection=None, attachments: list[dict[str, str]] | None = None
) -> EmailMultiAlternatives:
    url = unsubscribe_url(message)
    headers = {
        "Message-ID": message.message_id,
        # RFC 8058 one-click unsubscribe (and RFC 2369's list header it relies on).
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if message.kind == Kind.MARKETING:
        headers["Precedence"] = "bulk"
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        to=[message.to_email],
        reply_to=[message.reply_to] if message.reply_to else None,
        headers=headers,
        connection=connection,
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    for item in attachments or ():
        from django.core.files.storage import default_storage

        with default_storage.open(item["storage_name"], "rb") as handle:
            email.attach(item["filename"], handle.read(), item["content_type"])
    return email


# Ahead of other jobs (workers claim by priority): speed to lead is the acknowledgement
# reaching the inbox within minutes, while event handlers and sweeps can wait seconds.
@job(queue_name="email", priority=10, max_attempts=6)
def deliver_message(message_id: str, attachments: list[dict[str, str]] | None = None) -> str:
    """Send one queued message. Idempotent: a sent message is never sent again."""
    with transaction.atomic():
        message = OutboundMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            raise PermanentJobError(f"Message {message_id} does not exist")
        if message.status != OutboundMessage.Status.QUEUED:
            return message.status
        reason = _blocked_reason(message.to_email, message.kind, message.contact)
        reason = reason or _withdrawn_reason(message)
        if reason:
            message.status, message.status_reason = OutboundMessage.Status.SUPPRESSED, reason
            message.save(update_fields=["status", "status_reason", "updated_at"])
            return message.status
        message.attempts += 1
        message.save(update_fields=["attempts", "updated_at"])
    for fill in _send_time_fillers:  # on this in-memory copy only, never saved
        message.body_text = fill(message, message.body_text)
        message.body_html = fill(message, message.body_html) if message.body_html else ""
    try:
        build_email(
            message, connection=get_connection(fail_silently=False), attachments=attachments
        ).send()
    except smtplib.SMTPRecipientsRefused as exc:
        _mark(message, OutboundMessage.Status.FAILED, f"recipient refused: {exc.recipients}")
        raise PermanentJobError(f"Recipient refused for message {message_id}") from exc
    except (smtplib.SMTPException, OSError):
        logger.warning("Sending message %s failed; will retry", message_id)
        raise
    _mark(message, OutboundMessage.Status.SENT, "")
    return "sent"


def _mark(message: OutboundMessage, status: str, reason: str) -> None:
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=status,
        status_reason=reason[:300],
        sent_at=timezone.now() if status == OutboundMessage.Status.SENT else None,
        updated_at=timezone.now(),
    )


@transaction.atomic
def suppress(actor: Actor, email: str, reason: str, note: str = "") -> Suppression:
    _, normalized = normalize_email(email)
    suppression, created = Suppression.objects.get_or_create(
        email_normalized=normalized, defaults={"reason": reason, "note": note[:300]}
    )
    if created:
        audit_log.record(
            actor, "email.suppressed_address", suppression, changes={"reason": [None, reason]}
        )
    return suppression


@transaction.atomic
def unsubscribe(actor: Actor, token: str) -> OutboundMessage | None:
    message = (
        OutboundMessage.objects.filter(unsubscribe_token=token).select_related("contact").first()
    )
    if message is None:
        return None
    suppress(
        actor, message.to_email, Suppression.Reason.UNSUBSCRIBED, note=f"via message {message.pk}"
    )
    if message.contact is not None:
        from throughline.crm.services import record_consent

        record_consent(
            actor,
            message.contact,
            purpose=MARKETING_CONSENT_PURPOSE,
            granted=False,
            wording_version="unsubscribe-link",
            wording="Unsubscribed with the link in an e-mail.",
            source="unsubscribe",
        )
    return message
