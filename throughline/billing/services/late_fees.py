"""Late-payment fees: statutory interest (EU rule) and the flat recovery fee.

EU Directive 2011/7/EU: from the day after the due date the creditor may charge interest at the
ECB reference rate (the rate of its main refinancing operations on 1 January for the first
half-year, on 1 July for the second) plus at least 8 percentage points, and a flat €40 for
recovery costs, once per invoice.

Computation (hand-checkable): simple interest on the amount still due when the fee is
charged, actual days / 365, each day at the rate of its half-year; summed unrounded and rounded
once, half up, to the currency's minor unit (``core.money``, as EN 16931 rounds).

How it is charged: a separate **draft** late-fee invoice to the same client (VAT category
"O", not subject to VAT: compensation is not a supply), one per charge, holding the recovery
fee line and the interest line. It stays a draft for a person to review and issue — a fee is a
commercial decision, and issuing runs the EN 16931 checks, which a background sweep should not
fail on. ``LateFee`` rows are unique per (invoice, period): the recovery fee is period
``recovery`` (once per invoice); interest is ``interest:<last day>`` and continues the day
after the last interest charged, so no day is charged twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from throughline.billing.models import DunningPolicy, Invoice, LateFee, ReferenceRate
from throughline.core import audit_log, money
from throughline.core.actor import Actor

ZERO = Decimal(0)
DAYS_IN_YEAR = Decimal(365)
RECOVERY = "recovery"

# ECB main refinancing operations rate on 1 January / 1 July (percent). Staff can override or
# extend it (``ReferenceRate`` rows, the policy page); a later half-year without a row keeps the
# last known rate.
DEFAULT_REFERENCE_RATES: dict[dt.date, Decimal] = {
    dt.date(2016, 7, 1): Decimal("0.00"),
    dt.date(2022, 7, 1): Decimal("0.00"),
    dt.date(2023, 1, 1): Decimal("2.50"),
    dt.date(2023, 7, 1): Decimal("4.00"),
    dt.date(2024, 1, 1): Decimal("4.50"),
    dt.date(2024, 7, 1): Decimal("4.25"),
    dt.date(2025, 1, 1): Decimal("3.15"),
    dt.date(2025, 7, 1): Decimal("2.15"),
    dt.date(2026, 1, 1): Decimal("2.15"),
}


def half_year_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 1 if day.month <= 6 else 7, 1)


def reference_rates() -> dict[dt.date, Decimal]:
    rates = dict(DEFAULT_REFERENCE_RATES)
    rates.update(dict(ReferenceRate.objects.values_list("period_start", "rate")))
    return rates


def reference_rate(day: dt.date, rates: dict[dt.date, Decimal] | None = None) -> Decimal:
    rates = reference_rates() if rates is None else rates
    start = half_year_start(day)
    known = [period for period in rates if period <= start]
    return rates[max(known)] if known else ZERO


@dataclass(frozen=True)
class InterestSegment:
    start: dt.date
    end: dt.date
    days: int
    rate: Decimal  # reference rate + margin, percent


@dataclass(frozen=True)
class Interest:
    amount: Decimal
    segments: list[InterestSegment]


def statutory_interest(
    principal: Decimal,
    currency: str,
    start: dt.date,
    end: dt.date,
    *,
    margin: Decimal = Decimal(8),
    rates: dict[dt.date, Decimal] | None = None,
) -> Interest:
    """Interest on ``principal`` for the days ``start``…``end`` (both included)."""
    rates = reference_rates() if rates is None else rates
    segments = []
    exact = ZERO
    day = start
    while day <= end:
        period = half_year_start(day)
        next_period = dt.date(period.year + (period.month == 7), 1 if period.month == 7 else 7, 1)
        last = min(end, next_period - dt.timedelta(days=1))
        days = (last - day).days + 1
        rate = reference_rate(day, rates) + margin
        segments.append(InterestSegment(day, last, days, rate))
        exact += principal * rate / 100 * days / DAYS_IN_YEAR
        day = last + dt.timedelta(days=1)
    return Interest(money.quantize(exact, currency), segments)


def _interest_start(invoice: Invoice) -> dt.date:
    last = (
        LateFee.objects.filter(invoice=invoice, interest_to__isnull=False)
        .order_by("-interest_to")
        .values_list("interest_to", flat=True)
        .first()
    )
    start = invoice.due_date + dt.timedelta(days=1)
    return max(start, last + dt.timedelta(days=1)) if last else start


def charge_late_fees(
    actor: Actor, invoice: Invoice, policy: DunningPolicy, today: dt.date
) -> list[LateFee]:
    """Charge what the policy allows on an overdue invoice, once per period (idempotent).

    The caller holds the transaction and the invoice's dunning case lock."""
    from throughline.billing.services import invoicing

    if not invoice.is_overdue(today):
        return []
    planned: list[tuple[LateFee, dict]] = []
    if (
        policy.charge_recovery_fee
        and policy.recovery_fee > 0
        and policy.recovery_fee_currency == invoice.currency
        and not LateFee.objects.filter(invoice=invoice, period=RECOVERY).exists()
    ):
        fee = money.quantize(policy.recovery_fee, invoice.currency)
        planned.append(
            (
                LateFee(invoice=invoice, period=RECOVERY, amount=fee, currency=invoice.currency),
                {"description": f"Flat recovery costs for late payment of {invoice.number}"},
            )
        )
    if policy.charge_interest:
        start = _interest_start(invoice)
        if start <= today:
            interest = statutory_interest(
                invoice.amount_due,
                invoice.currency,
                start,
                today,
                margin=policy.interest_margin,
            )
            if interest.amount > 0:
                rates = ", ".join(f"{s.days} days at {s.rate}%" for s in interest.segments)
                detail = (
                    f"Interest on {invoice.amount_due} {invoice.currency} overdue on "
                    f"{invoice.number}, {start.isoformat()} to {today.isoformat()} ({rates})"
                )
                planned.append(
                    (
                        LateFee(
                            invoice=invoice,
                            period=f"interest:{today.isoformat()}",
                            amount=interest.amount,
                            currency=invoice.currency,
                            interest_from=start,
                            interest_to=today,
                            detail=detail[:300],
                        ),
                        {"description": detail},
                    )
                )
    if not planned:
        return []
    lines = [
        {
            "description": extra["description"],
            "quantity": "1",
            "unit_price": str(fee.amount),
            "tax_rate": "0",
            "tax_category": "O",
        }
        for fee, extra in planned
    ]
    try:
        with transaction.atomic():
            fee_invoice = invoicing.create_invoice(
                actor,
                contact=invoice.contact,
                currency=invoice.currency,
                lines=lines,
                source=f"billing.dunning:{invoice.pk}:fees:{today.isoformat()}",
                issue_date=today,
                due_date=today + dt.timedelta(days=14),
                payment_terms="Payable within 14 days",
                buyer_reference=invoice.number,
                notes=f"Late-payment charges on invoice {invoice.number}.",
            )
            for fee, _extra in planned:
                fee.fee_invoice = fee_invoice
                fee.save(force_insert=True)
    except IntegrityError:
        return []  # charged by a concurrent sweep
    audit_log.record(
        actor,
        "invoice.late_fee_charged",
        invoice,
        changes={
            "late_fees": [None, {fee.period: str(fee.amount) for fee, _ in planned}],
            "fee_invoice": [None, str(fee_invoice.pk)],
        },
    )
    return [fee for fee, _ in planned]
