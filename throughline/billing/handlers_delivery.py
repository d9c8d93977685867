"""Billing reacts to delivery: an invoice per milestone, and one per retainer period.

``milestone.accepted`` / ``milestone.completed`` (delivery/services/milestones.py ``facts``) →
the invoice of the milestone's payment-schedule instalment, issued and e-mailed. Which of the
two events issues it is the organization's ``BillingSettings.invoice_milestones_on``
(``accepted`` by default, or ``completed`` = delivered); the other is acknowledged. One invoice
per milestone whatever arrives twice: ``Invoice.source`` ``delivery.milestone:<id>`` is unique.
The lines are the milestone's ``percent`` of each VAT group of ``tax_breakdown`` (or, without a
percent, its net ``amount`` split over the groups). A milestone without an amount (no
instalment falls on it) or without the accepted amounts is acknowledged and left alone (logged):
nothing is guessed.

``retainer.period_started`` (delivery/services/retainers.py) → the period's invoice for the
payload's net ``amount`` in its ``currency``, labelled with the period's number and dates, once
per period (``delivery.retainer:<project>:<number>``). The period's payload carries no VAT
groups; they are the signed contract's (the ``contract.signed`` event of the payload's
``contract_id``, else of its ``proposal_id``): the amount is split over them in proportion.
Without them nothing is invoiced (logged).

Not done here, on purpose:

* ``project.closed`` issues no final invoice: its payload carries no payment-schedule items
  (only ids, the expansion deal and ``closed_at``), and delivery already puts the instalments
  due "on completion" on the project's last milestone (``projects._milestone_amounts``), so
  they are invoiced with that milestone.
* Paid deposits are not deducted (EN 16931 BT-113) on milestone invoices, though invoicing
  supports it (``create_invoice(deposits=…)``): each milestone invoice bills only its own
  instalment, and the deposit is an instalment of its own, so deducting it would bill the
  client less than the contract. A deduction belongs on an invoice that bills the whole
  contract, which delivery's schedule never asks for.
"""

from __future__ import annotations

from throughline.billing.event_invoices import (
    amount_lines,
    breakdown,
    contact_of,
    issue_for_event,
    logger,
    percent_lines,
)
from throughline.billing.models import BillingSettings
from throughline.billing.services.calculation import plain
from throughline.core import money
from throughline.core.events import on
from throughline.core.models import DomainEvent

TRIGGER_EVENTS = {
    BillingSettings.MilestoneTrigger.ACCEPTED: "milestone.accepted",
    BillingSettings.MilestoneTrigger.COMPLETED: "milestone.completed",
}


def milestone_lines(payload: dict) -> list[dict] | None:
    """The milestone's instalment as invoice lines, or None without an amount or VAT groups."""
    currency = str(payload.get("currency") or "").upper()
    title = " ".join(str(payload.get("title") or "Milestone").split())[:200]
    reference = payload.get("number") or "the signed contract"
    percent, amount = payload.get("percent"), payload.get("amount")
    if percent not in (None, ""):
        try:
            shown = plain(money.to_decimal(str(percent)))
        except (TypeError, ValueError, ArithmeticError, money.MoneyError):
            return None
        description = f"Milestone “{title}”: {shown}% of {reference}"
        return percent_lines(breakdown(payload), percent, currency, description)
    if amount not in (None, ""):
        return amount_lines(
            breakdown(payload), amount, currency, f"Milestone “{title}” of {reference}"
        )
    return None


@on("milestone.completed", "milestone.accepted")
def issue_milestone_invoice(event: DomainEvent) -> str:
    payload = event.payload or {}
    trigger = BillingSettings.current().invoice_milestones_on
    if event.name != TRIGGER_EVENTS.get(trigger):
        return f"milestones are invoiced when {trigger}"
    milestone_id = payload.get("milestone_id") or (
        event.subject_id if event.subject_type == "delivery.milestone" else ""
    )
    lines = milestone_lines(payload)
    contact = contact_of(payload)
    if not milestone_id or lines is None or contact is None:
        logger.info(
            "%s %s: milestone %s not invoiced (no amount or accepted amounts in the payload)",
            event.name,
            event.id,
            milestone_id,
        )
        return "no milestone invoice"
    return issue_for_event(
        event,
        what="milestone invoice",
        contact=contact,
        currency=str(payload["currency"]).upper(),
        lines=lines,
        source=f"delivery.milestone:{milestone_id}",
        buyer_reference=str(payload.get("number") or "")[:200],
    )


def signed_breakdown(payload: dict) -> list[dict]:
    """The VAT groups of the deal behind a delivery event: its own, else the signed contract's."""
    groups = breakdown(payload)
    if groups:
        return groups
    signed = DomainEvent.objects.filter(name="contract.signed").order_by("-id")
    event = None
    if payload.get("contract_id"):
        event = signed.filter(subject_id=str(payload["contract_id"])).first()
    if event is None and payload.get("proposal_id"):
        event = signed.filter(payload__proposal_id=str(payload["proposal_id"])).first()
    return breakdown(event.payload or {}) if event is not None else []


@on("retainer.period_started")
def issue_retainer_invoice(event: DomainEvent) -> str:
    payload = event.payload or {}
    project_id, number = payload.get("project_id"), payload.get("number")
    currency = str(payload.get("currency") or "").upper()
    starts, ends = payload.get("starts_on") or "", payload.get("ends_on") or ""
    description = f"Retainer period {number}: {starts} to {ends}"
    lines = amount_lines(signed_breakdown(payload), payload.get("amount"), currency, description)
    contact = contact_of(payload)
    if not project_id or number in (None, "") or lines is None or contact is None:
        logger.info(
            "%s %s: retainer period not invoiced (no amount or VAT groups)", event.name, event.id
        )
        return "no retainer invoice"
    return issue_for_event(
        event,
        what="retainer invoice",
        contact=contact,
        currency=currency,
        lines=lines,
        source=f"delivery.retainer:{project_id}:{number}",
        notes=f"Retainer period {number}, {starts} to {ends}.",
    )
