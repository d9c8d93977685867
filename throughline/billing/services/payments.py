"""Recording money: payments (manual or online), failed attempts, refunds, client credit.

``record_payment`` is the one way money enters the books — the staff form, the API, the Stripe
webhook, the periodic gateway check and (later) bank reconciliation all call it:

* it is idempotent for gateways: one succeeded payment per ``(gateway, gateway_reference)``,
  so a webhook replayed, redelivered days later, or racing the periodic check counts once;
* it allocates to the invoice what the invoice still owes (or to several invoices, for a
  grouped transfer) and keeps the rest as the client's credit;
* one transaction: payment, allocations, invoice status, audit entries, events
  (``payment.received``, ``invoice.paid``) and the receipt e-mail commit together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from throughline.billing.documents.pdf import Formatter, locale_for
from throughline.billing.models import Allocation, Invoice, Payment, Refund
from throughline.billing.services import calculation, settlement
from throughline.billing.services.dates import org_today
from throughline.billing.services.errors import InvoiceStateError
from throughline.core import audit_log, events, money
from throughline.core.actor import Actor
from throughline.core.models import Organization
from throughline.crm.models import Contact
from throughline.messaging.models import Kind
from throughline.messaging.services import queue_email

ZERO = Decimal(0)
PAYABLE_STATUSES = (Invoice.Status.ISSUED, Invoice.Status.PARTIALLY_PAID, Invoice.Status.PAID)
RECEIPT_KEY = "billing.receipt:"


def parse_amount(raw: Any, currency: str, field: str = "amount") -> Decimal:
    """A positive amount with at most the currency's decimals, or a ValidationError."""
    errors: dict[str, list[str]] = {}
    value = calculation.parse_decimal(
        raw, field, errors, places=money.minor_unit(currency), low=ZERO, low_inclusive=False
    )
    if errors:
        raise ValidationError(errors)
    return value


def _received_on(value: Any, field: str = "date") -> dt.date:
    if value is None:
        return org_today()
    if not isinstance(value, dt.date):
        raise ValidationError({field: ["Give a date (YYYY-MM-DD)."]})
    if value > org_today() + dt.timedelta(days=1):
        raise ValidationError({field: ["A payment cannot be dated in the future."]})
    return value


def _existing_gateway_payment(gateway: str, reference: str) -> Payment | None:
    if gateway == "manual" or not reference:
        return None
    return Payment.objects.filter(
        gateway=gateway, gateway_reference=reference, status=Payment.Status.SUCCEEDED
    ).first()


def _base_amount(amount: Decimal, currency: str, rate: Decimal | None) -> tuple:
    base = Organization.current().base_currency
    if currency == base:
        return Decimal(1), amount
    if rate:
        return rate, money.quantize(amount * rate, base)
    return None, None


@transaction.atomic
def record_payment(
    actor: Actor,
    *,
    amount: Any,
    invoice: Invoice | None = None,
    contact: Contact | None = None,
    currency: str | None = None,
    received_on: dt.date | None = None,
    method: str = Payment.Method.BANK_TRANSFER,
    reference: str = "",
    notes: str = "",
    gateway: str = "manual",
    gateway_reference: str = "",
    allocations: Sequence[tuple[Invoice, Any]] | None = None,
    exchange_rate: Decimal | None = None,
    send_receipt: bool = True,
) -> Payment:
    """Record money received; see the module docstring. Returns the payment (an existing one
    for a gateway payment seen before, with ``payment.already_recorded = True``)."""
    existing = _existing_gateway_payment(gateway, gateway_reference)
    if existing is not None:
        existing.already_recorded = True
        return existing
    if invoice is None and contact is None:
        raise ValidationError({"invoice": ["Say which invoice or client the payment is from."]})
    if method not in Payment.Method.values:
        raise ValidationError({"method": [f"Choose one of {', '.join(Payment.Method.values)}."]})
    online = gateway != "manual"
    targets = [invoice] if invoice is not None else []
    targets += [target for target, _ in allocations or () if target not in targets]
    locked = settlement.lock_invoices(t.pk for t in targets)
    invoice = locked[str(invoice.pk)] if invoice is not None else None
    contact = invoice.contact if invoice is not None else contact
    currency = calculation.check_currency(currency or (invoice.currency if invoice else ""))
    value = parse_amount(amount, currency)
    received_on = _received_on(received_on)

    errors: dict[str, list[str]] = {}
    for target in locked.values():
        if target.is_credit_note or target.is_draft:
            errors["invoice"] = [f"{target} cannot be paid (it is not an issued invoice)."]
        elif target.currency != currency:
            errors["currency"] = [f"{target} is in {target.currency}, not {currency}."]
        elif target.contact_id != contact.pk:
            errors["invoice"] = [f"{target} is another client's invoice."]
        elif target.status == Invoice.Status.VOID and not online:
            # Money an online payer already sent still has to be booked (as credit).
            errors["invoice"] = [f"{target} was credited in full; record this as client credit."]
    if errors:
        raise ValidationError(errors)

    plan: list[tuple[Invoice, Decimal]] = []
    if allocations:
        for index, (target, share) in enumerate(allocations):
            share = parse_amount(share, currency, f"allocations.{index}.amount")
            target = locked[str(target.pk)]
            if share > target.amount_due:
                raise ValidationError(
                    {f"allocations.{index}.amount": [f"{target} has only {target.amount_due} due."]}
                )
            plan.append((target, share))
        if sum((share for _, share in plan), ZERO) > value:
            raise ValidationError({"allocations": ["The allocations add up to more than paid."]})
    elif invoice is not None and invoice.status in PAYABLE_STATUSES:
        share = min(value, invoice.amount_due)
        if share > 0:
            plan.append((invoice, share))

    rate, base_amount = _base_amount(
        value, currency, exchange_rate or (invoice.exchange_rate if invoice else None)
    )
    payment = Payment(
        contact=contact,
        invoice=invoice,
        currency=currency,
        amount=value,
        received_on=received_on,
        method=method,
        reference=str(reference or "").strip()[:200],
        notes=str(notes or "").strip()[:5000],
        gateway=gateway,
        gateway_reference=gateway_reference[:200],
        exchange_rate=rate,
        base_amount=base_amount,
        recorded_by=actor.user,
    )
    try:
        with transaction.atomic():
            payment.save(force_insert=True)
    except IntegrityError:
        # A concurrent delivery of the same gateway payment won the race.
        existing = _existing_gateway_payment(gateway, gateway_reference)
        if existing is None:
            raise
        existing.already_recorded = True
        return existing
    changes = []
    for target, share in plan:
        settlement.allocate(
            target, share, payment=payment, kind=Allocation.Kind.PAYMENT, user=actor.user
        )
        changes.append(settlement.refresh(target))
    payment.already_recorded = False

    audit_log.record(
        actor,
        "payment.recorded",
        payment,
        changes={
            "amount": [None, value],
            "currency": [None, currency],
            "method": [None, method],
            "invoices": [None, {str(t.pk): share for t, share in plan}],
            "credit": [None, payment.unallocated],
            "gateway": [None, gateway],
            "gateway_reference": [None, gateway_reference],
        },
    )
    events.emit(
        actor,
        "payment.received",
        payment,
        contact_id=str(contact.pk),
        invoice_id=str(invoice.pk) if invoice else None,
        invoice_ids=[str(t.pk) for t, _ in plan],
        amount=str(value),
        currency=currency,
        method=method,
        gateway=gateway,
        allocated=str(payment.amount_allocated),
        credit=str(payment.unallocated),
    )
    _emit_paid(actor, changes)
    if send_receipt:
        queue_receipt(actor, payment)
    return payment


def _emit_paid(actor: Actor, changes: list[settlement.Change]) -> None:
    for change in changes:
        if change.became_paid:
            target = change.invoice
            audit_log.record(
                actor, "invoice.paid", target, changes={"status": [change.before, "paid"]}
            )
            events.emit(
                actor,
                "invoice.paid",
                target,
                number=target.number,
                currency=target.currency,
                amount_paid=str(target.amount_paid),
                amount_credited=str(target.amount_credited),
                paid_at=target.paid_at.isoformat() if target.paid_at else None,
            )


def queue_receipt(actor: Actor, payment: Payment) -> None:
    contact = payment.contact
    if not contact.email:
        return
    invoice = payment.invoice
    country = (invoice.buyer or {}).get("country", "") if invoice else ""
    fmt = Formatter(
        locale=locale_for(country, invoice.locale if invoice else ""), currency=payment.currency
    )
    org = Organization.current()
    context = {
        "greeting_name": contact.first_name or contact.full_name or "there",
        "amount": fmt.money(payment.amount),
        "received_on": fmt.date(payment.received_on),
        "reference": payment.reference,
        "invoice": invoice,
        "due": fmt.money(invoice.amount_due) if invoice else "",
        "credit": fmt.money(payment.unallocated) if payment.unallocated > 0 else "",
        "seller_name": org.trading_name or org.legal_name,
    }
    queue_email(
        actor,
        to=contact.email,
        subject=render_to_string("billing/emails/receipt_subject.txt", context).strip(),
        body_text=render_to_string("billing/emails/receipt_body.txt", context),
        body_html=render_to_string("billing/emails/receipt_body.html", context),
        contact=contact,
        kind=Kind.TRANSACTIONAL,
        source=f"billing.payment:{payment.pk}",
        idempotency_key=f"{RECEIPT_KEY}{payment.pk}",
    )
    Payment.objects.filter(pk=payment.pk).update(receipt_sent_at=timezone.now())


def receipt_still_due(message) -> str:
    """Send-time check of a queued receipt: withdrawn when its payment was reversed since."""
    key = message.idempotency_key or ""
    if not key.startswith(RECEIPT_KEY):
        return ""
    payment_id = key.removeprefix(RECEIPT_KEY)
    status = Payment.objects.filter(pk=payment_id).values_list("status", flat=True).first()
    return "the payment was reversed" if status == Payment.Status.REVERSED else ""


@transaction.atomic
def record_failed_payment(
    actor: Actor,
    *,
    invoice: Invoice,
    amount: Any,
    currency: str,
    gateway: str,
    gateway_reference: str = "",
    reason: str = "",
    method: str = Payment.Method.CARD,
) -> Payment:
    """An attempt that did not bring money (declined card…): kept for the record, no effect on
    what is due. Emits ``payment.failed`` (dunning may react)."""
    currency = calculation.check_currency(currency)
    payment = Payment.objects.create(
        contact=invoice.contact,
        invoice=invoice,
        currency=currency,
        amount=parse_amount(amount, currency),
        received_on=org_today(),
        method=method,
        status=Payment.Status.FAILED,
        failure_reason=str(reason or "")[:300],
        gateway=gateway,
        gateway_reference=gateway_reference[:200],
        recorded_by=actor.user,
    )
    audit_log.record(
        actor, "payment.failed", payment, changes={"reason": [None, payment.failure_reason]}
    )
    events.emit(
        actor,
        "payment.failed",
        payment,
        invoice_id=str(invoice.pk),
        contact_id=str(invoice.contact_id),
        amount=str(payment.amount),
        currency=currency,
        gateway=gateway,
        reason=payment.failure_reason,
    )
    return payment


@transaction.atomic
def refund_payment(
    actor: Actor,
    payment: Payment,
    *,
    amount: Any,
    reason: str = "",
    refunded_on: dt.date | None = None,
    gateway_reference: str = "",
) -> Refund:
    """Record money given back. Comes out of the client's credit in this payment first, then
    off the invoices it paid (newest first), which become due again."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != Payment.Status.SUCCEEDED:
        raise InvoiceStateError("Only a received payment can be refunded.")
    if gateway_reference:
        existing = payment.refunds.filter(gateway_reference=gateway_reference).first()
        if existing is not None:
            return existing
    value = parse_amount(amount, payment.currency)
    if value > payment.refundable:
        raise ValidationError(
            {"amount": [f"At most {payment.refundable} {payment.currency} can be refunded."]}
        )
    from_invoices = max(ZERO, value - payment.unallocated)
    changes = settlement.take_back(payment, from_invoices, user=actor.user) if from_invoices else []
    refunded = money.quantize(payment.amount_refunded + value, payment.currency)
    Payment.objects.filter(pk=payment.pk).update(
        amount_refunded=refunded, updated_at=timezone.now()
    )
    payment.refresh_from_db()
    refund = Refund.objects.create(
        payment=payment,
        amount=value,
        currency=payment.currency,
        refunded_on=_received_on(refunded_on, "refunded_on"),
        reason=str(reason or "")[:300],
        gateway_reference=gateway_reference[:200],
        recorded_by=actor.user,
    )
    audit_log.record(
        actor,
        "payment.refunded",
        payment,
        changes={
            "amount_refunded": [payment.amount_refunded - value, payment.amount_refunded],
            "reason": [None, refund.reason],
            "invoices": [None, [str(c.invoice.pk) for c in changes]],
        },
    )
    events.emit(
        actor,
        "payment.refunded",
        payment,
        refund_id=str(refund.pk),
        contact_id=str(payment.contact_id),
        amount=str(value),
        currency=payment.currency,
        invoice_ids=[str(c.invoice.pk) for c in changes],
        gateway=payment.gateway,
    )
    return refund


@transaction.atomic
def apply_client_credit(actor: Actor, invoice: Invoice, *, amount: Any = None) -> Decimal:
    """Settle ``invoice`` (up to ``amount``) from the client's credit: overpayments first, then
    unapplied credit notes, oldest first. Returns what was applied."""
    invoice = settlement.lock_invoices([invoice.pk])[str(invoice.pk)]
    if not invoice.is_open:
        raise InvoiceStateError(f"{invoice} has nothing left to pay.")
    want = (
        invoice.amount_due
        if amount is None
        else min(parse_amount(amount, invoice.currency), invoice.amount_due)
    )
    payments, notes = settlement.credit_sources(invoice.contact, invoice.currency)
    applied = ZERO
    for payment in payments:
        if applied >= want:
            break
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        take = min(payment.unallocated, want - applied)
        if take > 0:
            settlement.allocate(
                invoice, take, payment=payment, kind=Allocation.Kind.CREDIT_APPLIED, user=actor.user
            )
            applied += take
    for note in notes:
        if applied >= want:
            break
        take = min(settlement.credit_note_unapplied(note), want - applied)
        if take > 0:
            settlement.allocate(
                invoice,
                take,
                credit_note=note,
                kind=Allocation.Kind.CREDIT_APPLIED,
                user=actor.user,
            )
            applied += take
    if applied == 0:
        raise ValidationError({"amount": ["The client has no credit in this currency."]})
    change = settlement.refresh(invoice)
    audit_log.record(actor, "invoice.credit_applied", invoice, changes={"applied": [None, applied]})
    _emit_paid(actor, [change])
    return applied
