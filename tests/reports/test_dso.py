"""DSO on a hand-computed example, both methods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from throughline.billing import services
from throughline.reports.dso import dso

AS_OF = dt.date(2025, 6, 30)


def test_dso_period_and_countback(actor, seller, issued, at):
    at(AS_OF)
    old = issued(dt.date(2025, 5, 15), dt.date(2025, 6, 14), unit_price="500.00")  # 600.00
    issued(dt.date(2025, 6, 20), dt.date(2025, 7, 20), unit_price="200.00")  # 240.00
    issued(dt.date(2025, 6, 30), dt.date(2025, 7, 30))  # 120.00
    services.record_payment(actor, invoice=old, amount="300.00", received_on=dt.date(2025, 6, 10))

    report = dso(AS_OF, 30)
    # AR = 120 + 240 + (600 − 300) = 660; credit sales 1–30 June = 120 + 240 = 360.
    assert report["ar"] == Decimal("660.00")
    assert report["credit_sales"] == Decimal("360.00")
    assert report["period_start"] == dt.date(2025, 6, 1)
    # Period method: 660 ÷ 360 × 30 = 55.0
    assert report["dso"] == Decimal("55.0")
    # Countback: 30 June absorbs 120 (1 day, 540 left); 29–21 June no sales (9 days);
    # 20 June absorbs 240 (1 day, 300 left); 19 June … 16 May no sales (35 days);
    # 15 May: 300 of 600 = 0.5 day → 1 + 9 + 1 + 35 + 0.5 = 46.5.
    assert report["countback_dso"] == Decimal("46.5")


def test_credit_note_reduces_credit_sales(actor, seller, issued, at):
    at(AS_OF)
    issued(dt.date(2025, 6, 15), dt.date(2025, 7, 15))  # 120.00
    inv = issued(dt.date(2025, 6, 30), dt.date(2025, 7, 30), unit_price="200.00")  # 240.00
    services.credit_invoice(actor, inv, reason="Cancelled")
    report = dso(AS_OF, 30)
    assert report["ar"] == Decimal("120.00")
    assert report["credit_sales"] == Decimal("120.00")
    assert report["dso"] == Decimal("30.0")


def test_no_sales_gives_no_dso(seller):
    report = dso(AS_OF, 30)
    assert report["dso"] is None
    assert report["countback_dso"] == Decimal("0.0")


def test_countback_reads_older_sales_only_as_it_needs_them(seller, issued, at):
    """The countback starts with the last 90 days of sales and reads further back in steps:
    here twice (the sales of 300 days ago are past the first estimate)."""
    at(AS_OF)
    issued(AS_OF - dt.timedelta(days=300), AS_OF - dt.timedelta(days=270), unit_price="1000.00")
    issued(AS_OF - dt.timedelta(days=10), AS_OF + dt.timedelta(days=20), unit_price="1000.00")
    report = dso(AS_OF, 90)
    # AR = 1200 + 1200; sales in the period: 1200 → 2400 ÷ 1200 × 90 = 180.0.
    assert report["dso"] == Decimal("180.0")
    # Countback: 30 June … 21 June no sales (10 days); 20 June absorbs 1200 (1 day); 289 days
    # without sales; 300 days back absorbs the last 1200 (1 day) → 301.0.
    assert report["countback_dso"] == Decimal("301.0")
