"""The EU late-payment policy: statutory interest (ECB rate + 8 points), checked by hand, and the
flat €40 recovery fee — charged once, on a draft late-fee invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from throughline.billing.models import DunningPolicy, Invoice, LateFee
from throughline.billing.services import dunning, late_fees

from .conftest import TODAY, line

DUE = TODAY + dt.timedelta(days=10)  # 2025-03-24


def test_interest_within_one_half_year_by_hand():
    # 1000.00 EUR, 1 Feb … 2 Mar 2025 = 30 days at 3.15 + 8 = 11.15 %:
    # 1000 × 0.1115 × 30 / 365 = 9.1644 → 9.16
    interest = late_fees.statutory_interest(
        Decimal("1000.00"),
        "EUR",
        dt.date(2025, 2, 1),
        dt.date(2025, 3, 2),
        rates=late_fees.DEFAULT_REFERENCE_RATES,
    )
    assert interest.amount == Decimal("9.16")
    [segment] = interest.segments
    assert (segment.days, segment.rate) == (30, Decimal("11.15"))


def test_interest_across_two_half_years_uses_each_periods_rate():
    # 16–30 Jun 2025: 15 days at 11.15 %; 1–15 Jul 2025: 15 days at 2.15 + 8 = 10.15 %:
    # 1000 × (0.1115 × 15 + 0.1015 × 15) / 365 = 3195 / 365 = 8.7534 → 8.75
    interest = late_fees.statutory_interest(
        Decimal("1000.00"),
        "EUR",
        dt.date(2025, 6, 16),
        dt.date(2025, 7, 15),
        rates=late_fees.DEFAULT_REFERENCE_RATES,
    )
    assert interest.amount == Decimal("8.75")
    assert [(s.days, s.rate) for s in interest.segments] == [
        (15, Decimal("11.15")),
        (15, Decimal("10.15")),
    ]


def test_rounding_is_half_up_on_the_total_not_per_day():
    # 365.00 × 10 % × 1 day / 365 = 0.10 exactly; 36.50 × 10 % / 365 = 0.01 (0.01 exactly)
    rates = {dt.date(2020, 1, 1): Decimal("2.00")}
    one = late_fees.statutory_interest(
        Decimal("365.00"), "EUR", dt.date(2025, 1, 1), dt.date(2025, 1, 1), rates=rates
    )
    assert one.amount == Decimal("0.10")
    # 182.50 × 10 % × 1 / 365 = 0.05 per day; 3 days = 0.15 (sum of exact parts, rounded once)
    three = late_fees.statutory_interest(
        Decimal("182.50"), "EUR", dt.date(2025, 1, 1), dt.date(2025, 1, 3), rates=rates
    )
    assert three.amount == Decimal("0.15")


@pytest.mark.django_db
def test_configured_reference_rate_overrides_the_default_table(actor):
    dunning.set_reference_rate(actor, dt.date(2025, 1, 1), "4.000")
    assert late_fees.reference_rate(dt.date(2025, 3, 1)) == Decimal("4.000")
    assert late_fees.reference_rate(dt.date(2031, 3, 1)) == Decimal("2.15")  # last known
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        dunning.set_reference_rate(actor, dt.date(2025, 2, 1), "1")


def test_eu_policy_charges_interest_and_the_recovery_fee_once(
    actor, make_invoice, run_jobs, time_machine, smtp_server
):
    # given an overdue 1,200.00 EUR invoice under the EU policy
    dunning.set_policy(actor, kind=DunningPolicy.Kind.EU_LATE_PAYMENT)
    invoice = make_invoice(
        issue=True,
        currency="EUR",
        exchange_rate="0.85",
        due_date=DUE,
        lines=[line(unit_price="1000.00")],
    )
    assert invoice.gross_total == Decimal("1200.00")

    # when the final notice (+30) is sent, twice over
    final = DUE + dt.timedelta(days=30)
    time_machine.move_to(dt.datetime.combine(final, dt.time(9), tzinfo=dt.UTC))
    first = dunning.sweep()
    second = dunning.sweep()
    time_machine.move_to(dt.datetime.combine(final, dt.time(18), tzinfo=dt.UTC))
    third = dunning.sweep()

    # then: €40 once, and interest 25 Mar … 23 Apr 2025 = 30 days at 11.15 %:
    # 1200 × 0.1115 × 30 / 365 = 10.9973 → 11.00
    assert (first.fees, second.fees, third.fees) == (2, 0, 0)
    fees = {fee.period: fee.amount for fee in LateFee.objects.filter(invoice=invoice)}
    assert fees == {"recovery": Decimal("40.00"), "interest:2025-04-23": Decimal("11.00")}
    [fee_invoice] = Invoice.objects.filter(source__startswith=f"billing.dunning:{invoice.pk}")
    assert fee_invoice.status == Invoice.Status.DRAFT
    assert fee_invoice.gross_total == Decimal("51.00") and fee_invoice.currency == "EUR"
    assert fee_invoice.tax_total == Decimal("0.00")

    # the final notice tells the client
    run_jobs()
    text = smtp_server.messages[-1]["message"].get_body(preferencelist=("plain",)).get_content()
    assert "40.00 EUR" in text and "11.00 EUR" in text

    # a later charge (another policy step) continues the interest, never the €40 again
    later = final + dt.timedelta(days=10)
    again = late_fees.charge_late_fees(actor, invoice, dunning.current_policy(), later)
    assert [(f.period, f.interest_from) for f in again] == [
        ("interest:2025-05-03", dt.date(2025, 4, 24))
    ]
    assert LateFee.objects.filter(invoice=invoice, period="recovery").count() == 1


def test_reminders_only_policy_charges_nothing(actor, make_invoice, time_machine):
    invoice = make_invoice(issue=True, due_date=DUE)
    time_machine.move_to(
        dt.datetime.combine(DUE + dt.timedelta(days=30), dt.time(9), tzinfo=dt.UTC)
    )
    assert dunning.sweep().fees == 0
    assert not LateFee.objects.filter(invoice=invoice).exists()


def test_recovery_fee_only_in_its_currency(actor, make_invoice, time_machine):
    # a GBP invoice under the EU policy: interest yes, the EUR flat fee not converted silently
    dunning.set_policy(actor, kind=DunningPolicy.Kind.EU_LATE_PAYMENT)
    invoice = make_invoice(issue=True, due_date=DUE)
    time_machine.move_to(
        dt.datetime.combine(DUE + dt.timedelta(days=30), dt.time(9), tzinfo=dt.UTC)
    )
    dunning.sweep()
    assert list(LateFee.objects.filter(invoice=invoice).values_list("period", flat=True)) == [
        "interest:2025-04-23"
    ]
