"""AR aging at the bucket boundaries, with partial payments, credit notes and a foreign invoice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.billing.conftest import line
from throughline.billing import services
from throughline.reports.aging import aging, bucket_for

AS_OF = dt.date(2025, 6, 30)


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "1_30"),
        (30, "1_30"),
        (31, "31_60"),
        (60, "31_60"),
        (61, "61_90"),
        (90, "61_90"),
        (91, "over_90"),
        (400, "over_90"),
    ],
)
def test_bucket_edges(days, bucket):
    assert bucket_for(days) == bucket


@pytest.fixture
def book(actor, seller, issued, at):
    """Gross 120.00 each (100.00 + 20 % VAT), due exactly 0/30/31/60/61/90/91 days before
    AS_OF, plus a USD invoice at a stored rate of 0.8 due 1 day before."""
    at(ago(3))
    # Issued oldest first: invoice numbers follow issue dates.
    inv = {d: issued(ago(d + 10), ago(d)) for d in (91, 90, 61, 60, 31, 30)}
    inv["usd"] = issued(ago(11), ago(1), currency="USD", exchange_rate=Decimal("0.8"))
    inv[0] = issued(ago(10), ago(0))
    # Before AS_OF: a partial payment of 50.00 and a credit note of 60.00 (50.00 + VAT).
    services.record_payment(actor, invoice=inv[31], amount="50.00", received_on=ago(3))
    services.credit_invoice(actor, inv[61], reason="Partly wrong", lines=[line(unit_price="50")])
    # After AS_OF: a payment in full and a full credit note, which AS_OF must not see.
    at(AS_OF + dt.timedelta(days=5))
    services.record_payment(
        actor, invoice=inv[91], amount="120.00", received_on=AS_OF + dt.timedelta(days=2)
    )
    services.credit_invoice(actor, inv[90], reason="Cancelled")
    return inv


def test_aging_at_boundaries(book):
    report = aging(AS_OF)
    assert report["currency"] == "GBP"
    assert book["usd"].exchange_rate == Decimal("0.8")
    assert report["buckets"] == {
        "current": Decimal("120.00"),  # due today
        "1_30": Decimal("216.00"),  # due 30 days ago 120.00 + USD 120.00 × 0.8 = 96.00
        "31_60": Decimal("190.00"),  # 31 days: 120.00 − 50.00 paid; 60 days: 120.00
        "61_90": Decimal("180.00"),  # 61 days: 120.00 − 60.00 credited; 90 days: 120.00
        "over_90": Decimal("120.00"),  # paid only after AS_OF
    }
    assert report["total"] == Decimal("826.00")


def test_aging_later_sees_later_payments_and_credit_notes(book):
    report = aging(AS_OF + dt.timedelta(days=5))
    assert report["buckets"] == {
        "current": Decimal("0.00"),
        "1_30": Decimal("216.00"),  # 5 days: 120.00; USD 6 days: 96.00
        "31_60": Decimal("190.00"),  # 35 days: 120.00; 36 days: 70.00
        "61_90": Decimal("180.00"),  # 65 days: 120.00; 66 days: 60.00
        "over_90": Decimal("0.00"),  # paid on AS_OF + 2; the 90-day one credited in full
    }


def test_invoice_issued_after_as_of_is_not_counted(book):
    # 95 days before AS_OF only the 91- and 90-day invoices were issued (101 and 100 days
    # before AS_OF), and neither was due yet.
    report = aging(ago(95))
    assert report["total"] == Decimal("240.00")
    assert report["buckets"]["current"] == Decimal("240.00")
    # 50 days before: four issued (due 91, 90, 61, 60 days before AS_OF), none current.
    report = aging(ago(50))
    assert report["buckets"]["current"] == Decimal("0.00")
    assert report["total"] == Decimal("480.00")


def test_no_billing_rows_gives_zero_buckets(seller):
    report = aging(AS_OF)
    assert report["total"] == Decimal("0.00")
    assert set(report["buckets"]) == {"current", "1_30", "31_60", "61_90", "over_90"}


def test_todays_shortcut_equals_the_as_of_sum(book):
    """After the last payment and credit note, the aggregate reads billing's amount_due; it
    must give exactly what re-summing the allocations gives (partial payment, credit notes,
    USD at its rate)."""
    from throughline.reports.aging import bucket_sums, open_by_client, settled_through

    later = AS_OF + dt.timedelta(days=5)
    assert not settled_through(AS_OF) and settled_through(later)
    assert bucket_sums(later, "GBP", fast=True) == bucket_sums(later, "GBP", fast=False)
    assert open_by_client(later, "GBP", fast=True) == open_by_client(later, "GBP", fast=False)
    total = sum(r[3] for r in open_by_client(later, "GBP"))
    assert Decimal(str(round(total, 2))) == aging(later)["total"]


def test_foreign_invoice_without_rate_is_listed_not_summed(seller, issued, at):
    at(AS_OF)
    issued(ago(10), ago(5))
    eur = issued(ago(10), ago(5), currency="EUR", exchange_rate=None)
    report = aging(AS_OF)
    assert report["total"] == Decimal("120.00")
    assert [row.number for row in report["unconverted"]] == [eur.number]
    assert report["counts"]["1_30"] == 1


def test_past_date_buckets_equal_the_allocations_summed_then(book, actor, at):
    """At a past date the buckets are today's open amounts corrected by what was settled
    since; they must equal re-summing every allocation up to that date (open_invoices), with a
    refund after the date (its reversal counts on its payment's day), a payment and a credit
    note after it, and a foreign invoice."""
    from throughline.billing.models import Payment
    from throughline.reports.aging import BUCKETS, open_invoices

    at(AS_OF + dt.timedelta(days=6))
    paid_before = Payment.objects.get(allocations__invoice=book[31])
    services.record_payment(actor, invoice=book[30], amount="120.00", received_on=AS_OF)
    services.payments.refund_payment(actor, paid_before, amount="20.00", reason="goodwill")
    for day in (ago(3), ago(1), AS_OF, AS_OF + dt.timedelta(days=3)):
        report = aging(day)
        expected = dict.fromkeys(BUCKETS, Decimal("0.00"))
        counts = dict.fromkeys(BUCKETS, 0)
        for row in open_invoices(day, "GBP"):
            expected[row.bucket] += row.base_amount
            counts[row.bucket] += 1
        assert report["buckets"] == expected, day
        assert report["counts"] == counts, day
    assert aging(AS_OF)["buckets"]["31_60"] == Decimal("210.00")  # 120.00 + (70.00 + 20.00)
