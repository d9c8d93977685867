"""Online payments: "Pay now" checkout pages, gateway webhooks, and the check for lost webhooks.

Webhooks are processed once per gateway event id (``GatewayEvent``, unique), and every effect
is idempotent on its own too (a payment is unique per gateway payment reference; refunds per
refund id and by Stripe's cumulative ``amount_refunded``), so the order and number of
deliveries do not matter:

* ``checkout.session.completed`` (paid) / ``async_payment_succeeded`` → ``record_payment``;
* ``charge.refunded`` → the refund, recording the payment first if its own event is late;
* ``payment_intent.payment_failed`` / ``async_payment_failed`` → a failed attempt, unless that
  payment already succeeded (a late failure of an earlier try);
* ``checkout.session.expired`` → the session is closed, never a paid one.

``sync_open_sessions`` asks the gateway about sessions still open after a while and records
the ones that were paid: a webhook that never arrives still leaves the right state.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.billing.gateways import get_gateway, online_gateway
from throughline.billing.gateways.base import GatewayEventData, SessionState, WebhookRejected
from throughline.billing.gateways.stripe import from_minor
from throughline.billing.models import CheckoutSession, GatewayEvent, Invoice, Payment
from throughline.billing.services import payments
from throughline.billing.services.dates import org_date_of
from throughline.billing.services.errors import GatewayError, InvoiceStateError
from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import Channel

logger = logging.getLogger(__name__)
SESSION_REUSE = dt.timedelta(hours=20)  # Stripe sessions live 24 h
SYNC_AFTER = dt.timedelta(minutes=5)
SYNC_FOR = dt.timedelta(days=3)


def gateway_actor(name: str, channel: str = Channel.WEBHOOK) -> Actor:
    return Actor.system(channel, label=f"{name} gateway")


@transaction.atomic
def start_checkout(
    actor: Actor, invoice: Invoice, *, success_url: str, cancel_url: str
) -> CheckoutSession:
    """A hosted payment page for what is due now (an open one is reused, not duplicated)."""
    gateway = online_gateway()
    if gateway is None:
        raise GatewayError("Online payment is not set up.")
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if not invoice.is_open:
        raise InvoiceStateError("This invoice has nothing left to pay.")
    recent = timezone.now() - SESSION_REUSE
    reusable = invoice.checkout_sessions.filter(
        gateway=gateway.name,
        status=CheckoutSession.Status.OPEN,
        amount=invoice.amount_due,
        created_at__gte=recent,
    ).first()
    if reusable is not None:
        return reusable
    opened = invoice.checkout_sessions.count()
    checkout = gateway.create_checkout(
        invoice_id=str(invoice.pk),
        number=invoice.number,
        amount=invoice.amount_due,
        currency=invoice.currency,
        email=invoice.contact.email,
        success_url=success_url,
        cancel_url=cancel_url,
        idempotency_key=f"checkout:{invoice.pk}:{opened}:{invoice.amount_due}",
    )
    session = CheckoutSession.objects.create(
        invoice=invoice,
        gateway=gateway.name,
        session_id=checkout.session_id,
        url=checkout.url,
        amount=invoice.amount_due,
        currency=invoice.currency,
    )
    audit_log.record(
        actor,
        "payment.checkout_opened",
        invoice,
        changes={"session": [None, checkout.session_id], "amount": [None, invoice.amount_due]},
    )
    return session


def reject_webhook(name: str, reason: str, *, ip: str | None, status: int = 400) -> None:
    """The security log entry for a forged, replayed or malformed webhook."""
    actor = Actor(user=None, channel=Channel.WEBHOOK, ip=ip, label=f"{name} webhook")
    with transaction.atomic():
        audit_log.record(
            actor,
            "security.webhook_rejected",
            object_type="billing.gateway",
            object_id=name[:64],
            object_repr=f"{name} webhook",
            changes={"reason": [None, reason[:300]], "status": [None, status]},
        )
    logger.warning("Rejected %s webhook from %s: %s", name, ip, reason)


def handle_webhook(
    name: str, payload: bytes, headers: dict[str, str], *, ip: str | None
) -> tuple[int, str]:
    """Verify and process one webhook; returns (HTTP status, short text for the gateway)."""
    gateway = get_gateway(name)
    if gateway is None:
        return 404, "unknown gateway"
    try:
        event = gateway.verify_webhook(payload, headers)
    except WebhookRejected as exc:
        reject_webhook(name, exc.reason, ip=ip, status=exc.status)
        return exc.status, "rejected"
    if not event.id:
        reject_webhook(name, "event without an id", ip=ip)
        return 400, "rejected"
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = GatewayEvent.objects.create(
                    gateway=name,
                    event_id=event.id[:255],
                    event_type=event.type[:100],
                    object_id=str(event.data.get("id", ""))[:255],
                )
        except IntegrityError:
            return 200, "already processed"
        outcome = process_event(name, event)
        record.outcome = outcome[:200]
        record.save(update_fields=["outcome"])
    return 200, outcome


def _invoice_for(invoice_id: str) -> Invoice | None:
    if not invoice_id:
        return None
    try:
        return Invoice.objects.filter(pk=invoice_id).first()
    except (ValueError, ValidationError):  # not a UUID: not one of ours
        return None


def record_session_paid(
    name: str, state: SessionState, *, paid_on: dt.datetime, channel: str
) -> str:
    """Record the money of a paid checkout session (idempotent)."""
    invoice = _invoice_for(state.invoice_id)
    if invoice is None:
        return f"ignored: no invoice {state.invoice_id!r}"
    actor = gateway_actor(name, channel)
    payment = payments.record_payment(
        actor,
        invoice=invoice,
        amount=state.amount,
        currency=state.currency,
        received_on=org_date_of(paid_on),
        method=Payment.Method.CARD,
        reference=state.session_id,
        gateway=name,
        gateway_reference=state.payment_reference,
    )
    CheckoutSession.objects.filter(gateway=name, session_id=state.session_id).update(
        status=CheckoutSession.Status.COMPLETE, payment=payment, updated_at=timezone.now()
    )
    return "duplicate payment" if payment.already_recorded else f"payment {payment.pk} recorded"


def _refund_from_charge(name: str, event: GatewayEventData) -> str:
    charge = event.data
    currency = str(charge.get("currency", "")).upper()
    reference = charge.get("payment_intent") or charge.get("id", "")
    payment = Payment.objects.filter(
        gateway=name, gateway_reference=reference, status=Payment.Status.SUCCEEDED
    ).first()
    if payment is None:
        # The refund overtook the payment's own event: book the payment from the charge.
        metadata = charge.get("metadata") or {}
        state = SessionState(
            session_id=str(charge.get("id", "")),
            status="complete",
            paid=True,
            amount=from_minor(charge.get("amount_captured") or charge.get("amount"), currency),
            currency=currency,
            payment_reference=reference,
            invoice_id=metadata.get("invoice_id", ""),
        )
        outcome = record_session_paid(name, state, paid_on=event.created, channel=Channel.WEBHOOK)
        if outcome.startswith("ignored"):
            return outcome
        payment = Payment.objects.get(
            gateway=name, gateway_reference=reference, status=Payment.Status.SUCCEEDED
        )
    refunded = from_minor(charge.get("amount_refunded"), currency)
    delta = refunded - payment.amount_refunded
    if delta <= 0:
        return "refund already recorded"
    refunds = ((charge.get("refunds") or {}).get("data")) or []
    refund_id = refunds[0].get("id") if refunds else ""
    payments.refund_payment(
        gateway_actor(name),
        payment,
        amount=delta,
        reason="Refunded through the gateway",
        refunded_on=org_date_of(event.created),
        gateway_reference=refund_id or f"{charge.get('id', '')}:{to_text(refunded)}",
    )
    return f"refund of {delta} recorded"


def to_text(value: Decimal) -> str:
    return format(value, "f")


def _failed(name: str, event: GatewayEventData, *, reference: str, amount, currency: str) -> str:
    metadata = event.data.get("metadata") or {}
    invoice = _invoice_for(metadata.get("invoice_id") or event.data.get("client_reference_id", ""))
    if invoice is None:
        return "ignored: no invoice"
    if Payment.objects.filter(
        gateway=name, gateway_reference=reference, status=Payment.Status.SUCCEEDED
    ).exists():
        return "ignored: that payment succeeded"
    error = event.data.get("last_payment_error") or {}
    payments.record_failed_payment(
        gateway_actor(name),
        invoice=invoice,
        amount=amount or invoice.amount_due or invoice.gross_total,
        currency=currency or invoice.currency,
        gateway=name,
        gateway_reference=reference,
        reason=error.get("message") or event.type,
    )
    return "failed payment recorded"


def process_event(name: str, event: GatewayEventData) -> str:
    gateway = get_gateway(name)
    obj = event.data
    if event.type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        state = gateway.session_state(obj)
        if not state.paid:
            return "waiting for the payment to clear"
        return record_session_paid(name, state, paid_on=event.created, channel=Channel.WEBHOOK)
    if event.type == "checkout.session.expired":
        CheckoutSession.objects.filter(
            gateway=name, session_id=obj.get("id", ""), status=CheckoutSession.Status.OPEN
        ).update(status=CheckoutSession.Status.EXPIRED, updated_at=timezone.now())
        return "session expired"
    if event.type == "checkout.session.async_payment_failed":
        state = gateway.session_state(obj)
        return _failed(
            name,
            event,
            reference=state.payment_reference,
            amount=state.amount,
            currency=state.currency,
        )
    if event.type == "payment_intent.payment_failed":
        currency = str(obj.get("currency", "")).upper()
        amount = from_minor(obj.get("amount"), currency) if currency else None
        return _failed(name, event, reference=obj.get("id", ""), amount=amount, currency=currency)
    if event.type == "charge.refunded":
        return _refund_from_charge(name, event)
    return f"ignored: {event.type}"


def sync_open_sessions(now: dt.datetime | None = None) -> dict[str, int]:
    """Ask the gateway about sessions still open after ``SYNC_AFTER``; record paid ones."""
    now = now or timezone.now()
    counts = {"checked": 0, "paid": 0, "expired": 0, "errors": 0}
    open_sessions = CheckoutSession.objects.filter(
        status=CheckoutSession.Status.OPEN,
        created_at__lte=now - SYNC_AFTER,
        created_at__gte=now - SYNC_FOR,
    ).order_by("created_at")[:200]
    for session in open_sessions:
        gateway = get_gateway(session.gateway)
        if gateway is None or not gateway.is_configured():
            continue
        counts["checked"] += 1
        try:
            state = gateway.retrieve_session(session.session_id)
        except GatewayError:
            counts["errors"] += 1
            continue
        with transaction.atomic():
            if state.paid:
                record_session_paid(session.gateway, state, paid_on=now, channel=Channel.WORKER)
                counts["paid"] += 1
            elif state.status == "expired":
                CheckoutSession.objects.filter(
                    pk=session.pk, status=CheckoutSession.Status.OPEN
                ).update(status=CheckoutSession.Status.EXPIRED, updated_at=now)
                counts["expired"] += 1
            CheckoutSession.objects.filter(pk=session.pk).update(last_checked_at=now)
    return counts


@transaction.atomic
def refund_online(actor: Actor, payment: Payment, *, amount, reason: str = "") -> object:
    """Refund a card payment through its gateway, then record it (the webhook that follows is
    recognised by the refund id and changes nothing)."""
    gateway = get_gateway(payment.gateway)
    if gateway is None or not payment.gateway_reference:
        raise InvoiceStateError("This payment was not made online; record the refund by hand.")
    value = payments.parse_amount(amount, payment.currency)
    if value > payment.refundable:
        raise ValidationError(
            {"amount": [f"At most {payment.refundable} {payment.currency} can be refunded."]}
        )
    refund_id = gateway.refund(
        payment.gateway_reference,
        value,
        payment.currency,
        key=f"refund:{payment.pk}:{payment.amount_refunded}:{value}",
    )
    return payments.refund_payment(
        actor, payment, amount=value, reason=reason, gateway_reference=refund_id
    )
