"""What billing's event handlers share: invoice lines from an event's figures, and the
create → issue → e-mail flow of an invoice that an event asks for.

Lines are a share of the accepted amounts per VAT group (the ``tax_breakdown`` the events
carry), so an instalment keeps the deal's tax split; an exempt group names its reason.
"""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from throughline.billing.models import Invoice
from throughline.billing.services import invoicing, sending
from throughline.billing.services.errors import IssueRefused
from throughline.core import audit_log, money
from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.crm.models import Contact

logger = logging.getLogger("throughline.billing.handlers")
EXEMPT_NOTE = "Exempt from VAT, as on the accepted proposal"


def breakdown(payload: dict) -> list[dict]:
    """The accepted amounts per VAT group: ``tax_breakdown`` or signing's ``totals.breakdown``."""
    groups = payload.get("tax_breakdown")
    if groups is None:
        groups = (payload.get("totals") or {}).get("breakdown")
    return [g for g in groups or [] if isinstance(g, dict)]


def _line(description: str, amount: Decimal, group: dict) -> dict[str, Any]:
    category = str(group.get("category") or "S")
    return {
        "description": description,
        "quantity": "1",
        "unit_price": str(amount),
        "tax_rate": str(group.get("rate") or "0"),
        "tax_category": category,
        "exemption_reason_code": group.get("exemption_code", ""),
        # The proposal's exempt lines had their reason; the instalment names it so.
        "exemption_reason": group.get("exemption_reason", "")
        or (EXEMPT_NOTE if category == "E" else ""),
    }


def percent_lines(
    groups: list[dict], percent: Any, currency: str, description: str
) -> list[dict] | None:
    """``percent`` of each VAT group's base, one line per group; None when unusable."""
    if not groups or not currency:
        return None
    try:
        share = money.to_decimal(str(percent))
        lines = []
        for group in groups:
            amount = money.percent_of(money.to_decimal(str(group["base"])), share, currency)
            if amount > 0:
                lines.append(_line(description, amount, group))
    except (KeyError, TypeError, InvalidOperation, money.MoneyError):
        return None
    return lines or None


def amount_lines(
    groups: list[dict], amount: Any, currency: str, description: str
) -> list[dict] | None:
    """``amount`` (net) split over the VAT groups in proportion to their bases, to the cent."""
    if not groups or not currency:
        return None
    try:
        total = money.to_decimal(str(amount))
        bases = [money.to_decimal(str(g["base"])) for g in groups]
        if total <= 0 or sum(bases, Decimal(0)) <= 0:
            return None
        shares = money.allocate(total, bases, currency)
        lines = [
            _line(description, share, group)
            for share, group in zip(shares, groups, strict=True)
            if share > 0
        ]
    except (KeyError, TypeError, InvalidOperation, money.MoneyError):
        return None
    return lines or None


def contact_of(payload: dict) -> Contact | None:
    contact_id = payload.get("contact_id")
    if not contact_id:
        return None
    try:
        return Contact.objects.filter(pk=contact_id).first()
    except (ValueError, ValidationError):
        return None


def issue_for_event(
    event: DomainEvent,
    *,
    what: str,
    contact: Contact,
    currency: str,
    lines: list[dict],
    source: str,
    kind: str = Invoice.Kind.STANDARD,
    **header: Any,
) -> str:
    """Create, issue and e-mail the invoice of ``source`` (once: ``Invoice.source`` is unique).

    Facts we cannot invoice are logged and acknowledged (retrying would not help); an invoice
    the rules refuse to issue stays a draft for the billing team, with an audit entry.
    """
    if Invoice.objects.filter(source=source).exists():
        return f"{what} already invoiced"
    actor = Actor.system(Channel.WORKER, label=f"billing on {event.name}")
    try:
        with transaction.atomic():
            invoice = invoicing.create_invoice(
                actor,
                contact=contact,
                currency=currency,
                lines=lines,
                kind=kind,
                source=source,
                **header,
            )
    except IntegrityError:
        # Another worker issued it between our check and our insert (both events at once).
        if Invoice.objects.filter(source=source).exists():
            return f"{what} already invoiced"
        raise
    except ValidationError as exc:
        if Invoice.objects.filter(source=source).exists():
            return f"{what} already invoiced"  # a redelivery raced us to it
        logger.warning("%s %s: %s not invoiced: %s", event.name, event.id, what, exc.messages)
        return f"no {what} (invalid facts)"
    try:
        with transaction.atomic():
            invoice = invoicing.issue_invoice(actor, invoice)
    except (IssueRefused, ValidationError) as exc:
        # Kept as a draft for the billing team to fix: nothing is lost, nothing is wrong.
        audit_log.record(
            actor, "invoice.issue_refused", invoice, changes={"errors": [None, exc.messages]}
        )
        return f"{what} drafted (not issued)"
    if contact.email:
        sending.send_invoice(actor, invoice)
    return f"{what} {invoice.number} issued"
