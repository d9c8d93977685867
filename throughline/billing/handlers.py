"""Billing's reactions to other apps' events (DESIGN §2: we listen, they do not import us).

``proposal.accepted`` / ``contract.signed`` → the deposit invoice of the payment schedule (the
instalments due "on signing"), issued and e-mailed. Both events may arrive for one proposal;
``Invoice.source`` is unique, so there is one deposit per proposal whatever the order.

The payload this needs (sales' events should carry these facts of the acceptance)::

    proposal_id      the accepted proposal (or the event's subject when it is the proposal)
    contact_id       who is billed
    currency         ISO 4217
    payment_schedule {"items": [{"label", "percent", "due": "signing" | …}]}
    tax_breakdown    [{"category", "rate", "base"}]  accepted amounts per VAT group (strings)
                     (``totals.breakdown`` is read too: signing's ``contract.signed`` carries
                     it; sales' ``proposal.accepted`` does not, so the deposit comes with the
                     signature)
    number           the contract or proposal number, for the line and the reference

An event without them is acknowledged and left alone (logged): nothing is guessed.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.billing.models import Invoice
from throughline.billing.services import invoicing, sending
from throughline.billing.services.calculation import plain
from throughline.billing.services.errors import IssueRefused
from throughline.core import audit_log, money
from throughline.core.actor import Actor
from throughline.core.events import on
from throughline.core.models import Channel, DomainEvent
from throughline.crm.models import Contact

logger = logging.getLogger(__name__)
DEPOSIT_DUE = "signing"


def _breakdown(payload: dict) -> list[dict]:
    groups = payload.get("tax_breakdown")
    if groups is None:
        groups = (payload.get("totals") or {}).get("breakdown")
    return [g for g in groups or [] if isinstance(g, dict)]


def deposit_lines(payload: dict) -> list[dict] | None:
    """Invoice lines for the deposit, or None when the payload lacks what it takes."""
    schedule = payload.get("payment_schedule") or {}
    items = [
        item
        for item in schedule.get("items") or []
        if isinstance(item, dict) and item.get("due") == DEPOSIT_DUE
    ]
    currency = str(payload.get("currency") or "").upper()
    groups = _breakdown(payload)
    if not items or not groups or not currency:
        return None
    try:
        percent = sum((money.to_decimal(str(item.get("percent"))) for item in items), Decimal(0))
        label = ", ".join(str(item.get("label") or "Deposit") for item in items)
        reference = payload.get("number") or "the accepted proposal"
        lines = []
        for group in groups:
            base = money.to_decimal(str(group["base"]))
            amount = money.percent_of(base, percent, currency)
            if amount <= 0:
                continue
            category = str(group.get("category") or "S")
            lines.append(
                {
                    "description": f"{label}: {plain(percent)}% of {reference}",
                    "quantity": "1",
                    "unit_price": str(amount),
                    "tax_rate": str(group.get("rate") or "0"),
                    "tax_category": category,
                    "exemption_reason_code": group.get("exemption_code", ""),
                    # The proposal's exempt lines had their reason; the deposit names it so.
                    "exemption_reason": group.get("exemption_reason", "")
                    or ("Exempt from VAT, as on the accepted proposal" if category == "E" else ""),
                }
            )
    except (KeyError, TypeError, InvalidOperation, money.MoneyError):
        return None
    return lines or None


@on("proposal.accepted", "contract.signed")
def issue_deposit_invoice(event: DomainEvent) -> str:
    payload = event.payload or {}
    proposal_id = payload.get("proposal_id") or (
        event.subject_id if event.subject_type == "sales.proposal" else ""
    )
    lines = deposit_lines(payload)
    contact = (
        Contact.objects.filter(pk=payload.get("contact_id")).first()
        if payload.get("contact_id")
        else None
    )
    if not proposal_id or lines is None or contact is None:
        logger.info(
            "%s %s: no deposit to invoice (payload lacks schedule or amounts)", event.name, event.id
        )
        return "no deposit"
    source = f"sales.proposal:{proposal_id}:deposit"
    if Invoice.objects.filter(source=source).exists():
        return "deposit already invoiced"
    actor = Actor.system(Channel.WORKER, label=f"billing on {event.name}")
    try:
        with transaction.atomic():
            invoice = invoicing.create_invoice(
                actor,
                contact=contact,
                currency=payload["currency"],
                lines=lines,
                kind=Invoice.Kind.DEPOSIT,
                source=source,
                payment_terms="Deposit due on signing",
                buyer_reference=str(payload.get("number") or "")[:200],
            )
    except ValidationError as exc:
        # Facts we cannot invoice (an unknown currency…): retrying would not help.
        logger.warning("%s %s: deposit not invoiced: %s", event.name, event.id, exc.messages)
        return "no deposit (invalid facts)"
    try:
        with transaction.atomic():
            invoice = invoicing.issue_invoice(actor, invoice)
    except (IssueRefused, ValidationError) as exc:
        # Kept as a draft for the billing team to fix: nothing is lost, nothing is wrong.
        audit_log.record(
            actor, "invoice.issue_refused", invoice, changes={"errors": [None, exc.messages]}
        )
        return "deposit drafted (not issued)"
    if contact.email:
        sending.send_invoice(actor, invoice)
    return f"deposit {invoice.number} issued"


@on("invoice.paid")
def stop_reminders_on_payment(event: DomainEvent) -> str:
    """A paid invoice's collections case closes (the dunning sweep skips paid invoices)."""
    from throughline.billing.services import dunning

    return "stopped" if dunning.stop_on_payment(event.subject_id) else "no active case"
