"""The receipts forecast on a constructed payment history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from throughline.billing import services
from throughline.crm import services as crm
from throughline.reports.forecast import forecast

TODAY = dt.date(2025, 6, 30)


def test_client_history_sets_date_and_band(actor, seller, issued, at, client_contact):
    slow = crm.create_contact(actor, first_name="No", last_name="History", email="n@h.example")
    # History of client_contact: paid 10, 20 and 30 days after issue → mean 20, p10 10, p90 30.
    for issue, pay_after in (
        (dt.date(2025, 3, 1), 10),
        (dt.date(2025, 4, 1), 20),
        (dt.date(2025, 5, 1), 30),
    ):
        at(issue)
        invoice = issued(issue, issue + dt.timedelta(days=30))
        at(issue + dt.timedelta(days=pay_after))
        services.record_payment(actor, invoice=invoice, amount="120.00")
    at(TODAY)
    issued(dt.date(2025, 6, 25), dt.date(2025, 7, 25))  # expected 15 July, band 5 July–25 July
    issued(dt.date(2025, 6, 30), dt.date(2025, 7, 30), unit_price="50.00", contact=slow)

    report = forecast(TODAY, 90)
    by_day = {p["date"]: p for p in report["series"]}
    assert by_day[dt.date(2025, 7, 15)]["expected"] == Decimal("120.00")
    assert by_day[dt.date(2025, 7, 30)]["expected"] == Decimal("60.00")  # terms: its due date
    assert by_day[dt.date(2025, 7, 5)]["cumulative_high"] == Decimal("120.00")  # early case
    assert by_day[dt.date(2025, 7, 24)]["cumulative_low"] == Decimal("0.00")  # late case
    assert by_day[dt.date(2025, 7, 25)]["cumulative_low"] == Decimal("120.00")
    assert report["total"] == Decimal("180.00")
    assert report["includes"] == ["open_invoices"]
