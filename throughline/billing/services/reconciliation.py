"""Bank reconciliation: statement credits matched to open invoices, and the payments recorded.

How a credit is matched (``match_line``), against an in-memory index of the open invoices
(``OpenInvoices``: by invoice number and by (currency, amount due) — one query per run, then
dictionary look-ups, never lines × invoices comparisons):

* invoice numbers in the remittance text or reference (``INV-2025-00042``, ``inv 2025 42``)
  and ISO 11649 structured creditor references (``RF…``, check digits verified) whose body
  is an invoice number;
* one invoice found: the amount equals what is due → confidence 0.99; less → a partial
  payment (0.92 when the payer's name matches the client, else 0.8); more → suggested
  (the rest becomes the client's credit);
* several invoices found (a grouped payment): the amounts add up to what they owe → 0.97;
  otherwise suggested, paying the oldest first;
* no number: open invoices with exactly that amount, ranked by payer-name similarity
  (rapidfuzz) → suggested at most (0.8), never applied on its own;
* nothing → unmatched (the list staff work through by hand).

Matches at or above ``AUTO_APPLY`` are applied at once; the rest wait for one-click
confirmation. Applying records the payment through ``payments.record_payment`` (method bank
transfer, gateway "bank", gateway reference ``statement-line:<id>``: the same line can never
record two payments; once reversed, the line may record a new one).

A wrong match is undone (``undo_match``): the payment it recorded is taken back off the invoices
(negative allocation rows, as a refund does), marked *reversed* (it was never money received:
reports, client credit and refunds look at succeeded payments only), the invoices reopen and
their reminders resume, and the line is open again — suggested at most from then on, never
applied on its own. A payment refunded since, or whose allocations something else changed (a
credit note, its credit used on another invoice), is not undone. An ignored line comes back
with ``restore_line``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from rapidfuzz import fuzz, utils

from throughline.billing.models import Allocation, Invoice, Payment, StatementLine
from throughline.billing.services import dunning, payments, settlement
from throughline.billing.services.errors import InvoiceStateError
from throughline.core import audit_log, events, money
from throughline.core.actor import Actor
from throughline.crm.models import Contact

ZERO = Decimal(0)
AUTO_APPLY = Decimal("0.90")
NAME_MATCH = 60  # rapidfuzz score (0–100) from which a payer's name counts as the client's
NUMBER = re.compile(r"\b([A-Z]{2,5})[\s\-/._]*(\d{4})[\s\-/._]*(\d{1,8})\b")
RF_REFERENCE = re.compile(r"\bRF(\d{2})\s*([A-Z0-9 ]{1,30})")


def canonical_numbers(text: str) -> list[str]:
    """Invoice numbers written in ``text``, in our canonical form (``INV-2025-00042``)."""
    upper = (text or "").upper()
    found = [f"{m[1]}-{m[2]}-{int(m[3]):05d}" for m in NUMBER.finditer(upper)]
    for match in RF_REFERENCE.finditer(upper):
        body = match[2].replace(" ", "")
        if rf_check_digits(body) == match[1]:
            found += [f"{m[1]}-{m[2]}-{int(m[3]):05d}" for m in NUMBER.finditer(body)]
    return list(dict.fromkeys(found))


def _iso7064(text: str) -> int:
    return int("".join(str(int(ch, 36)) for ch in text)) % 97


def rf_check_digits(body: str) -> str:
    return f"{98 - _iso7064(body + 'RF00'):02d}"


def rf_reference(number: str) -> str:
    """The ISO 11649 creditor reference for an invoice number (for payers to quote)."""
    body = re.sub(r"[^A-Z0-9]", "", number.upper())[:21]
    return f"RF{rf_check_digits(body)}{body}"


def name_score(payer: str, names: list[str]) -> float:
    if not payer:
        return 0.0
    return max(
        (fuzz.token_set_ratio(payer, n, processor=utils.default_process) for n in names if n),
        default=0.0,
    )


@dataclass
class OpenInvoice:
    pk: Any
    number: str
    contact_id: Any
    currency: str
    due: Decimal
    due_date: Any
    names: list[str]


class OpenInvoices:
    """The open invoices, indexed by number and by (currency, amount due)."""

    def __init__(self, rows: list[OpenInvoice]):
        self.by_number: dict[str, OpenInvoice] = {}
        self.by_amount: dict[tuple[str, Decimal], list[OpenInvoice]] = defaultdict(list)
        for row in rows:
            for key in canonical_numbers(row.number) or [row.number.upper()]:
                self.by_number[key] = row
            self.by_amount[(row.currency, row.due)].append(row)

    @classmethod
    def load(cls, only: Q | None = None) -> OpenInvoices:
        """One pass over the open invoices (plain columns only) and one over their clients'
        names — not a JSON field per invoice: 100k invoices share a few thousand clients.
        ``only`` narrows the pass (one line's candidates, see ``_rematch``)."""
        open_invoices = Invoice.objects.open().order_by()
        if only is not None:
            open_invoices = open_invoices.filter(only)
        names: dict[Any, list[str]] = {
            pk: [f"{first} {last}".strip(), company or ""]
            for pk, first, last, company in Contact.objects.filter(
                pk__in=open_invoices.values("contact_id")
            ).values_list("pk", "first_name", "last_name", "company__name")
        }
        rows = open_invoices.values_list(
            "pk", "number", "contact_id", "currency", "amount_due", "due_date"
        )
        return cls(
            [
                OpenInvoice(pk, number, contact, currency, due, due_date, names.get(contact, []))
                for pk, number, contact, currency, due, due_date in rows.iterator(chunk_size=5000)
            ]
        )

    def paid(self, invoice: OpenInvoice, amount: Decimal) -> None:
        """Keep the index true after ``amount`` was applied to ``invoice``."""
        bucket = self.by_amount.get((invoice.currency, invoice.due), [])
        if invoice in bucket:
            bucket.remove(invoice)
        invoice.due -= amount
        if invoice.due > 0:
            self.by_amount[(invoice.currency, invoice.due)].append(invoice)
        else:
            for key in canonical_numbers(invoice.number) or [invoice.number.upper()]:
                self.by_number.pop(key, None)


@dataclass
class Match:
    confidence: Decimal
    reason: str
    plan: list[tuple[OpenInvoice, Decimal]] = field(default_factory=list)

    def as_suggestion(self) -> list[dict[str, str]]:
        return [
            {"invoice_id": str(inv.pk), "number": inv.number, "amount": str(share)}
            for inv, share in self.plan
        ]


def _spread(amount: Decimal, invoices: list[OpenInvoice]) -> list[tuple[OpenInvoice, Decimal]]:
    """Pay the oldest first; what is left over stays unallocated (client credit)."""
    plan, left = [], amount
    for inv in sorted(invoices, key=lambda i: (i.due_date or "", i.number)):
        if left <= 0:
            break
        share = min(left, inv.due)
        plan.append((inv, share))
        left -= share
    return plan


def match_line(line: StatementLine, index: OpenInvoices) -> Match | None:
    amount, currency = line.amount, line.currency
    if amount <= 0:
        return None
    numbers = canonical_numbers(f"{line.remittance} {line.reference}")
    found = [index.by_number[n] for n in numbers if n in index.by_number]
    found = list({inv.pk: inv for inv in found}.values())
    other_currency = [inv for inv in found if inv.currency != currency]
    found = [inv for inv in found if inv.currency == currency]
    if found:
        score = name_score(line.counterparty, [n for inv in found for n in inv.names])
        named = score >= NAME_MATCH
        if len(found) == 1:
            [inv] = found
            if amount == inv.due:
                return Match(Decimal("0.99"), f"{inv.number}, amount due", [(inv, amount)])
            if amount < inv.due:
                confidence = Decimal("0.92") if named else Decimal("0.80")
                return Match(confidence, f"{inv.number}, partial payment", [(inv, amount)])
            return Match(
                Decimal("0.75"),
                f"{inv.number}, paid more than due (rest kept as credit)",
                [(inv, inv.due)],
            )
        if len({inv.contact_id for inv in found}) > 1:
            return Match(Decimal("0.40"), "invoices of different clients named", [])
        total = sum((inv.due for inv in found), ZERO)
        names = ", ".join(inv.number for inv in found)
        if amount == total:
            return Match(
                Decimal("0.97"), f"grouped payment of {names}", [(i, i.due) for i in found]
            )
        return Match(
            Decimal("0.70"),
            f"{names} named, amounts differ ({amount} of {total})",
            _spread(amount, found),
        )
    if other_currency:
        return Match(Decimal("0.30"), f"{other_currency[0].number} is in another currency", [])
    candidates = index.by_amount.get((currency, amount), [])
    if not candidates:
        return None
    ranked = sorted(
        ((name_score(line.counterparty, inv.names), inv) for inv in candidates),
        key=lambda pair: -pair[0],
    )
    best_score, best = ranked[0]
    if best_score >= 85 and (len(ranked) == 1 or ranked[1][0] < best_score):
        return Match(
            Decimal("0.80"), f"amount and payer name match {best.number}", [(best, amount)]
        )
    if len(ranked) == 1:
        return Match(Decimal("0.55"), f"amount matches {best.number} only", [(best, amount)])
    return Match(Decimal("0.40"), f"amount matches {len(ranked)} invoices", [(best, amount)])


@dataclass
class ReconcileResult:
    matched: int = 0
    suggested: int = 0
    unmatched: int = 0
    errors: list[str] = field(default_factory=list)


def reconcile(
    actor: Actor, lines=None, *, send_receipts: bool = True, index: OpenInvoices | None = None
) -> ReconcileResult:
    """Match every open credit line (of ``lines``, default all); apply the confident ones."""
    index = index or OpenInvoices.load()
    queryset = StatementLine.objects.filter(
        status__in=[StatementLine.Status.UNMATCHED, StatementLine.Status.SUGGESTED], amount__gt=0
    )
    if lines is not None:
        queryset = queryset.filter(pk__in=lines.values("pk"))
    result = ReconcileResult()
    for line in queryset.order_by("booked_on", "pk").iterator(chunk_size=2000):
        match = match_line(line, index)
        # A line whose match staff undid is only ever suggested again.
        confident = match is not None and bool(match.plan) and match.confidence >= AUTO_APPLY
        if confident and line.undone_at is None:
            try:
                _apply(actor, line, match, send_receipt=send_receipts)
            except (ValidationError, InvoiceStateError) as exc:
                result.errors.append(f"line {line.pk}: {' '.join(_messages(exc))}")
                match.confidence = min(match.confidence, Decimal("0.85"))
            else:
                for inv, share in match.plan:
                    index.paid(inv, share)
                result.matched += 1
                continue
        status = (
            StatementLine.Status.SUGGESTED
            if match is not None and match.plan
            else StatementLine.Status.UNMATCHED
        )
        StatementLine.objects.filter(pk=line.pk).update(
            status=status,
            confidence=match.confidence if match else ZERO,
            suggestion=match.as_suggestion() if match else [],
            match_reason=(match.reason if match else "no invoice number or amount found")[:300],
        )
        if status == StatementLine.Status.SUGGESTED:
            result.suggested += 1
        else:
            result.unmatched += 1
    return result


def _messages(exc: Exception) -> list[str]:
    return exc.messages if isinstance(exc, ValidationError) else [str(exc)]


@transaction.atomic
def _apply(
    actor: Actor, line: StatementLine, match: Match, *, send_receipt: bool = True
) -> Payment:
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status == StatementLine.Status.MATCHED:
        raise InvoiceStateError("This line is already matched.")
    invoices = {
        str(inv.pk): inv
        for inv in Invoice.objects.select_related("contact").filter(
            pk__in=[o.pk for o, _ in match.plan]
        )
    }
    plan = [(invoices[str(o.pk)], share) for o, share in match.plan if str(o.pk) in invoices]
    if not plan:
        raise InvoiceStateError("The suggested invoices no longer exist.")
    common = {
        "amount": line.amount,
        "currency": line.currency,
        "received_on": line.booked_on,
        "method": Payment.Method.BANK_TRANSFER,
        "reference": (line.reference or line.remittance)[:200],
        "notes": f"Bank statement line {line.pk}: {line.counterparty} {line.remittance}"[:5000],
        "gateway": "bank",
        "gateway_reference": f"statement-line:{line.pk}",
        "send_receipt": send_receipt,
    }
    if len(plan) == 1 and plan[0][1] == min(line.amount, plan[0][0].amount_due):
        payment = payments.record_payment(actor, invoice=plan[0][0], **common)
    else:
        payment = payments.record_payment(
            actor, contact=plan[0][0].contact, allocations=plan, **common
        )
    line.status = StatementLine.Status.MATCHED
    line.payment = payment
    line.confidence = match.confidence
    line.suggestion = match.as_suggestion()
    line.match_reason = match.reason[:300]
    line.matched_at = timezone.now()
    line.matched_by = actor.user
    line.save(
        update_fields=[
            "status",
            "payment",
            "confidence",
            "suggestion",
            "match_reason",
            "matched_at",
            "matched_by",
        ]
    )
    audit_log.record(
        actor,
        "statement.line_matched",
        line.statement,
        changes={
            "line": [None, line.pk],
            "payment": [None, str(payment.pk)],
            "invoices": [None, [inv.number for inv, _ in plan]],
            "confidence": [None, match.confidence],
        },
    )
    return payment


def _plan_from(line: StatementLine, rows: list[dict]) -> Match:
    invoices = {
        str(inv.pk): inv
        for inv in Invoice.objects.filter(pk__in=[r.get("invoice_id") for r in rows])
    }
    plan = []
    for row in rows:
        inv = invoices.get(str(row.get("invoice_id")))
        if inv is None:
            raise ValidationError("A suggested invoice no longer exists.")
        open_inv = OpenInvoice(
            inv.pk, inv.number, inv.contact_id, inv.currency, inv.amount_due, inv.due_date, []
        )
        plan.append((open_inv, payments.parse_amount(row.get("amount"), line.currency)))
    return Match(Decimal(line.confidence), line.match_reason or "confirmed by hand", plan)


def confirm_suggestion(actor: Actor, line: StatementLine) -> Payment:
    """One click: apply what reconciliation suggested for this line."""
    if line.status != StatementLine.Status.SUGGESTED or not line.suggestion:
        raise InvoiceStateError("This line has no suggestion to confirm.")
    return _apply(actor, line, _plan_from(line, line.suggestion))


def match_by_hand(actor: Actor, line: StatementLine, numbers_text: str) -> Payment:
    """Staff name the invoice(s) a line pays: allocated oldest first, any rest is credit."""
    if line.amount <= 0 or line.status == StatementLine.Status.MATCHED:
        raise InvoiceStateError("Only an unmatched credit can be matched.")
    numbers = canonical_numbers(numbers_text)
    found = list(
        Invoice.objects.open().filter(number__in=numbers, currency=line.currency).order_by("pk")
    )
    if not numbers or len(found) != len(numbers):
        raise ValidationError({"numbers": ["Give open invoice numbers in the line's currency."]})
    rows = [
        OpenInvoice(i.pk, i.number, i.contact_id, i.currency, i.amount_due, i.due_date, [])
        for i in found
    ]
    match = Match(Decimal("1.00"), "matched by hand", _spread(line.amount, rows))
    return _apply(actor, line, match)


@transaction.atomic
def ignore_line(actor: Actor, line: StatementLine) -> StatementLine:
    """Not a client's payment (a refund from a supplier, interest…): off the unmatched list."""
    line = StatementLine.objects.select_for_update().get(pk=line.pk)
    if line.status == StatementLine.Status.MATCHED:
        raise InvoiceStateError("A matched line cannot be ignored.")
    line.status = StatementLine.Status.IGNORED
    line.save(update_fields=["status"])
    audit_log.record(
        actor, "statement.line_ignored", line.statement, changes={"line": [None, line.pk]}
    )
    return line


def _rematch(line: StatementLine) -> Match | None:
    """What reconciliation finds for ``line`` now, against only the invoices it could match
    (those its text names, those with its amount due): the same answer as the full index."""
    if line.amount <= 0:
        return None
    numbers = canonical_numbers(f"{line.remittance} {line.reference}")
    if numbers:
        # An open invoice named decides the match (``match_line`` looks at amounts only when
        # none is): the unique number index is enough, no scan for amounts.
        named = OpenInvoices.load(Q(number__in=numbers))
        if any(number in named.by_number for number in numbers):
            return match_line(line, named)
    return match_line(line, OpenInvoices.load(Q(currency=line.currency, amount_due=line.amount)))


def _reopen(line: StatementLine) -> list[str]:
    """Put ``line`` back on the list to reconcile with a fresh suggestion; the fields saved."""
    match = _rematch(line)
    if line.amount <= 0:
        line.status = StatementLine.Status.DEBIT
    elif match is not None and match.plan:
        line.status = StatementLine.Status.SUGGESTED
    else:
        line.status = StatementLine.Status.UNMATCHED
    line.confidence = match.confidence if match else ZERO
    line.suggestion = match.as_suggestion() if match else []
    line.match_reason = (match.reason if match else "no invoice number or amount found")[:300]
    return ["status", "confidence", "suggestion", "match_reason"]


def check_undoable(payment: Payment) -> None:
    """Refuse (``InvoiceStateError``) unless ``payment`` is still exactly what its match
    booked: received, nothing refunded, its allocations only the match's own rows."""
    if payment.status != Payment.Status.SUCCEEDED:
        raise InvoiceStateError(
            f"The payment of this line is {payment.get_status_display().lower()}, "
            "not a received payment: there is nothing to undo."
        )
    if payment.amount_refunded > 0 or payment.refunds.exists():
        raise InvoiceStateError(
            "The payment of this line was refunded since: money went back to the client, "
            "so the match cannot be undone."
        )
    if payment.allocations.exclude(kind=Allocation.Kind.PAYMENT, amount__gt=0).exists():
        raise InvoiceStateError(
            "The payment of this line was changed since (taken back by a credit note, or its "
            "credit used on another invoice), so the match cannot be undone."
        )


@transaction.atomic
def undo_match(actor: Actor, line: StatementLine, *, reason: str = "") -> Payment:
    """Undo a wrong match: the payment it recorded is reversed, its invoices reopen (and their
    reminders resume), the line is open again. Returns the reversed payment."""
    line = StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
    if line.status != StatementLine.Status.MATCHED or line.payment_id is None:
        raise InvoiceStateError("This line is not matched: there is no match to undo.")
    # Locks as a refund takes them: the payment, then its invoices in primary-key order.
    payment = Payment.objects.select_for_update().get(pk=line.payment_id)
    check_undoable(payment)
    reason = str(reason or "").strip()[:200]
    taken_back, credit = payment.amount_allocated, payment.unallocated
    shares = {
        # SQLite's SUM drops the scale: quantize to the currency's minor unit.
        str(row["invoice"]): str(money.quantize(row["total"], payment.currency))
        for row in payment.allocations.values("invoice").order_by().annotate(total=Sum("amount"))
    }
    changes = settlement.take_back(payment, taken_back, user=actor.user)
    if payment.amount_allocated != 0:  # pragma: no cover - take_back takes every positive share
        raise AssertionError(f"Payment {payment.pk} still has {payment.amount_allocated} allocated")
    payment.status = Payment.Status.REVERSED
    payment.failure_reason = f"Bank statement match undone{': ' + reason if reason else ''}"[:300]
    payment.save(update_fields=["status", "failure_reason", "updated_at"])
    invoices = [change.invoice for change in changes]
    resumed = dunning.resume_on_unpaid(invoices)

    fields = _reopen(line)
    line.payment = None
    line.matched_at = None
    line.matched_by = None
    line.undone_at = timezone.now()
    line.save(update_fields=[*fields, "payment", "matched_at", "matched_by", "undone_at"])

    audit_log.record(
        actor,
        "payment.reversed",
        payment,
        changes={
            "status": [Payment.Status.SUCCEEDED, Payment.Status.REVERSED],
            "invoices": [shares, None],
            "credit": [credit, ZERO],
            "reason": [None, reason],
        },
    )
    for change in changes:
        target = change.invoice
        audit_log.record(
            actor,
            "invoice.payment_reversed",
            target,
            changes={
                "status": [change.before, change.after],
                "amount_due": [None, target.amount_due],
                "payment": [str(payment.pk), None],
            },
        )
    audit_log.record(
        actor,
        "statement.match_undone",
        line.statement,
        changes={
            "line": [None, line.pk],
            "payment": [str(payment.pk), None],
            "invoices": [[inv.number for inv in invoices], None],
            "status": [StatementLine.Status.MATCHED, line.status],
        },
    )
    events.emit(
        actor,
        "payment.reversed",
        payment,
        contact_id=str(payment.contact_id),
        invoice_ids=[str(inv.pk) for inv in invoices],
        reopened_invoice_ids=[str(c.invoice.pk) for c in changes if c.before != c.after],
        amount=str(payment.amount),
        currency=payment.currency,
        allocated=str(money.quantize(taken_back, payment.currency)),
        credit=str(money.quantize(credit, payment.currency)),
        gateway=payment.gateway,
        statement_line_id=line.pk,
        reminders_resumed=resumed,
        reason=reason,
    )
    return payment


@transaction.atomic
def restore_line(actor: Actor, line: StatementLine) -> StatementLine:
    """An ignored line back on the list to reconcile, with a fresh suggestion (not applied)."""
    line = StatementLine.objects.select_for_update().select_related("statement").get(pk=line.pk)
    if line.status != StatementLine.Status.IGNORED:
        raise InvoiceStateError("Only an ignored line can be restored.")
    fields = _reopen(line)
    line.save(update_fields=fields)
    audit_log.record(
        actor,
        "statement.line_restored",
        line.statement,
        changes={"line": [None, line.pk], "status": [StatementLine.Status.IGNORED, line.status]},
    )
    return line
