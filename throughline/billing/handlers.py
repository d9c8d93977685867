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

from decimal import Decimal, InvalidOperation

from throughline.billing.event_invoices import (
    breakdown,
    contact_of,
    issue_for_event,
    logger,
    percent_lines,
)
from throughline.billing.models import Invoice
from throughline.billing.services.calculation import plain
from throughline.core import money
from throughline.core.events import on
from throughline.core.models import DomainEvent

DEPOSIT_DUE = "signing"


def deposit_lines(payload: dict) -> list[dict] | None:
    """Invoice lines for the deposit, or None when the payload lacks what it takes."""
    schedule = payload.get("payment_schedule") or {}
    items = [
        item
        for item in schedule.get("items") or []
        if isinstance(item, dict) and item.get("due") == DEPOSIT_DUE
    ]
    currency = str(payload.get("currency") or "").upper()
    if not items:
        return None
    try:
        percent = sum((money.to_decimal(str(item.get("percent"))) for item in items), Decimal(0))
    except (TypeError, InvalidOperation, money.MoneyError):
        return None
    label = ", ".join(str(item.get("label") or "Deposit") for item in items)
    reference = payload.get("number") or "the accepted proposal"
    description = f"{label}: {plain(percent)}% of {reference}"
    return percent_lines(breakdown(payload), percent, currency, description)


@on("proposal.accepted", "contract.signed")
def issue_deposit_invoice(event: DomainEvent) -> str:
    payload = event.payload or {}
    proposal_id = payload.get("proposal_id") or (
        event.subject_id if event.subject_type == "sales.proposal" else ""
    )
    lines = deposit_lines(payload)
    contact = contact_of(payload)
    if not proposal_id or lines is None or contact is None:
        logger.info(
            "%s %s: no deposit to invoice (payload lacks schedule or amounts)", event.name, event.id
        )
        return "no deposit"
    return issue_for_event(
        event,
        what="deposit",
        contact=contact,
        currency=payload["currency"],
        lines=lines,
        source=f"sales.proposal:{proposal_id}:deposit",
        kind=Invoice.Kind.DEPOSIT,
        payment_terms="Deposit due on signing",
        buyer_reference=str(payload.get("number") or "")[:200],
    )


@on("invoice.paid")
def stop_reminders_on_payment(event: DomainEvent) -> str:
    """A paid invoice's collections case closes (the dunning sweep skips paid invoices)."""
    from throughline.billing.services import dunning

    return "stopped" if dunning.stop_on_payment(event.subject_id) else "no active case"
