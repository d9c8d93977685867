"""What is paid, credited and still due on each invoice, and each client's credit.

Invoices keep ``amount_paid``, ``amount_credited`` and ``amount_due`` equal to the sums of
their allocation rows; ``refresh`` recomputes them (and the status) from those rows, under the
invoice's row lock, after every change. Status is derived, never set by hand:

* void — credit notes cover the whole invoice;
* paid — nothing left to pay;
* partially_paid — something was paid, something is left;
* issued — nothing paid yet (credit notes may have lowered what is due).

Overdue is not a status: an open invoice whose due date has passed (``Invoice.is_overdue``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from throughline.billing.models import Allocation, DocumentType, Invoice, Payment
from throughline.core import money

ZERO = Decimal(0)


def lock_invoices(ids: Iterable) -> dict:
    """Row locks on several invoices, taken in primary-key order (no deadlock between two)."""
    ids = sorted({str(pk) for pk in ids})
    return {
        str(i.pk): i for i in Invoice.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    }


def credited_gross(invoice: Invoice) -> Decimal:
    """Total of the issued credit notes that correct ``invoice``."""
    total = (
        Invoice.objects.filter(corrects=invoice, document_type=DocumentType.CREDIT_NOTE)
        .exclude(status=Invoice.Status.DRAFT)
        .aggregate(total=Sum("gross_total"))["total"]
    )
    return money.quantize(total or ZERO, invoice.currency)


@dataclass(frozen=True)
class Change:
    invoice: Invoice
    before: str
    after: str

    @property
    def became_paid(self) -> bool:
        return self.after == Invoice.Status.PAID and self.before != Invoice.Status.PAID


def refresh(invoice: Invoice) -> Change:
    """Recompute the invoice's settlement from its allocations and save it."""
    sums = invoice.allocations.aggregate(
        paid=Sum("amount", filter=Q(payment__isnull=False)),
        credited=Sum("amount", filter=Q(credit_note__isnull=False)),
    )
    # SQLite's SUM drops the scale (120 for 120.00): quantize to the currency's minor unit.
    paid = money.quantize(sums["paid"] or ZERO, invoice.currency)
    credited = money.quantize(sums["credited"] or ZERO, invoice.currency)
    due = invoice.payable_total - paid - credited
    if due < 0:  # pragma: no cover - the services never allocate past what is due
        raise AssertionError(f"{invoice} would be overpaid by {-due}")
    before = invoice.status
    now = timezone.now()
    if invoice.gross_total > 0 and credited_gross(invoice) >= invoice.gross_total:
        status = Invoice.Status.VOID
        invoice.voided_at = invoice.voided_at or now
    elif due == 0:
        status = Invoice.Status.PAID
        invoice.paid_at = invoice.paid_at or now
    elif paid > 0:
        status = Invoice.Status.PARTIALLY_PAID
    else:
        status = Invoice.Status.ISSUED
    if status != Invoice.Status.PAID:
        invoice.paid_at = None if status != Invoice.Status.VOID else invoice.paid_at
    invoice.amount_paid, invoice.amount_credited, invoice.amount_due = paid, credited, due
    invoice.status = status
    invoice.save(
        update_fields=[
            "amount_paid",
            "amount_credited",
            "amount_due",
            "status",
            "paid_at",
            "voided_at",
            "updated_at",
        ]
    )
    return Change(invoice=invoice, before=before, after=status)


def allocate(
    invoice: Invoice,
    amount: Decimal,
    *,
    payment: Payment | None = None,
    credit_note: Invoice | None = None,
    kind: str,
    user=None,
) -> Allocation:
    """Add one allocation row (the caller holds the locks and refreshes afterwards)."""
    allocation = Allocation.objects.create(
        invoice=invoice,
        payment=payment,
        credit_note=credit_note,
        kind=kind,
        amount=amount,
        created_by=user,
    )
    if payment is not None:
        # Computed here, not with F(): the caller holds the payment's row lock, and SQLite
        # would do the sum in floating point.
        value = money.quantize(payment.amount_allocated + amount, payment.currency)
        if value < 0 or value > payment.amount - payment.amount_refunded:
            raise AssertionError(f"Allocation of {amount} does not fit payment {payment.pk}")
        Payment.objects.filter(pk=payment.pk).update(
            amount_allocated=value, updated_at=timezone.now()
        )
        payment.amount_allocated = value
    return allocation


def take_back(payment: Payment, amount: Decimal, *, user=None) -> list[Change]:
    """Take ``amount`` of ``payment`` back off the invoices it paid, newest invoice first:
    negative rows (allocation rows are append-only), each invoice refreshed.

    Refunds take back what exceeds the payment's credit; an undone bank match takes back all
    of it. The caller holds the payment's row lock; the invoices are locked here (pk order).
    """
    per_invoice = (
        payment.allocations.values("invoice")
        .order_by()
        .annotate(total=Sum("amount"))
        .filter(total__gt=0)
    )
    shares = {str(row["invoice"]): row["total"] for row in per_invoice}
    locked = lock_invoices(shares)
    changes = []
    remaining = amount
    for target in sorted(locked.values(), key=lambda i: (i.issue_date, i.created_at), reverse=True):
        if remaining <= 0:
            break
        take = min(shares[str(target.pk)], remaining)
        allocate(target, -take, payment=payment, kind=Allocation.Kind.REVERSAL, user=user)
        changes.append(refresh(target))
        remaining -= take
    return changes


def reverse_payments(invoice: Invoice, amount: Decimal, *, user=None) -> list[Allocation]:
    """Take ``amount`` of payments back off ``invoice``, newest payment first.

    What is taken back stays with each payment as the client's credit (refundable, or usable on
    another invoice).
    """
    reversed_rows = []
    remaining = amount
    per_payment = (
        invoice.allocations.filter(payment__isnull=False)
        .values("payment")
        .annotate(total=Sum("amount"))
        .filter(total__gt=0)
    )
    totals = {row["payment"]: row["total"] for row in per_payment}
    payments = (
        Payment.objects.select_for_update()
        .filter(pk__in=totals)
        .order_by("-received_on", "-created_at")
    )
    for payment in payments:
        if remaining <= 0:
            break
        take = min(totals[payment.pk], remaining)
        reversed_rows.append(
            allocate(invoice, -take, payment=payment, kind=Allocation.Kind.REVERSAL, user=user)
        )
        remaining -= take
    return reversed_rows


def credit_note_unapplied(credit_note: Invoice) -> Decimal:
    applied = credit_note.applied_allocations.aggregate(total=Sum("amount"))["total"] or ZERO
    return money.quantize(credit_note.gross_total - applied, credit_note.currency)


def credit_sources(contact, currency: str):
    """Payments and credit notes of the client that still hold credit, oldest first."""
    payments = [
        p
        for p in Payment.objects.filter(
            contact=contact, currency=currency, status=Payment.Status.SUCCEEDED
        ).order_by("received_on", "created_at")
        if p.unallocated > 0
    ]
    notes = [
        n
        for n in Invoice.objects.filter(
            contact=contact, currency=currency, document_type=DocumentType.CREDIT_NOTE
        )
        .exclude(status=Invoice.Status.DRAFT)
        .order_by("issue_date", "created_at")
        if credit_note_unapplied(n) > 0
    ]
    return payments, notes


def credit_balance(contact, currency: str) -> Decimal:
    """The client's credit in ``currency``: overpayments and unapplied credit notes."""
    payments, notes = credit_sources(contact, currency)
    return sum((p.unallocated for p in payments), ZERO) + sum(
        (credit_note_unapplied(n) for n in notes), ZERO
    )
