"""Invoiced vs collected per month (issue #10), on a hand-computed book.

Base GBP, organization in New York. Period 15 April … 10 July 2025:

| month | dates | invoiced | collected | difference |
|---|---|---|---|---|
| 2025-04 | 15–30 Apr | 600.00 (B) | 250.00 (part of B) | 350.00 |
| 2025-05 | 1–31 May | 0.00 | 0.00 | 0.00 |
| 2025-06 | 1–30 Jun | 974.84 (C: USD 1,200.00 × 0.81237 = 974.844) − 120.00 (credit note on B) = 854.84 | 487.42 (USD 600.00 × 0.81237 = 487.422, received 30 June in New York, 1 July in UTC) | 367.42 |
| 2025-07 | 1–10 Jul | 120.00 (E) | 120.00 (E) | 0.00 |
| total | | 1,574.84 | 857.42 | 717.42 |

Left out: A issued 10 April and paid 14 April (before the period), a payment on B of 11 July and
F issued 12 July (after it).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from tests.billing.conftest import line
from throughline.billing import services
from throughline.core.models.audit import AuditEntry
from throughline.core.roles import Role
from throughline.reports.kpis import kpis
from throughline.reports.kpis.billing import billing_kpis, month_ranges
from throughline.reports.kpis.filters import Filters

PERIOD = Filters(dt.date(2025, 4, 15), dt.date(2025, 7, 10))
QUERY = "from=2025-04-15&to=2025-07-10"
RATE = Decimal("0.81237")
EXPECTED = [
    ("2025-04", "2025-04-15", "2025-04-30", "600.00", "250.00", "350.00"),
    ("2025-05", "2025-05-01", "2025-05-31", "0.00", "0.00", "0.00"),
    ("2025-06", "2025-06-01", "2025-06-30", "854.84", "487.42", "367.42"),
    ("2025-07", "2025-07-01", "2025-07-10", "120.00", "120.00", "0.00"),
]


@pytest.fixture
def book(actor, seller, issued, at, time_machine):
    seller.time_zone = "America/New_York"
    seller.save()
    at(dt.date(2025, 6, 12))
    a = issued(dt.date(2025, 4, 10), dt.date(2025, 5, 10))  # 120.00
    b = issued(dt.date(2025, 4, 20), dt.date(2025, 5, 20), unit_price="500.00")  # 600.00
    c = issued(
        dt.date(2025, 6, 5),
        dt.date(2025, 7, 5),
        unit_price="1000.00",
        currency="USD",
        exchange_rate=RATE,
    )  # USD 1,200.00
    services.record_payment(actor, invoice=a, amount="120.00", received_on=dt.date(2025, 4, 14))
    services.record_payment(actor, invoice=b, amount="250.00", received_on=dt.date(2025, 4, 28))
    services.credit_invoice(actor, b, reason="Discount agreed", lines=[line()])  # 120.00, 12 Jun
    # 02:00 UTC on 1 July is 22:00 on 30 June in New York: the payment is dated 30 June.
    time_machine.move_to(dt.datetime(2025, 7, 1, 2, tzinfo=dt.UTC))
    late_june = services.record_payment(actor, invoice=c, amount="600.00")
    at(dt.date(2025, 7, 15))
    e = issued(dt.date(2025, 7, 3), dt.date(2025, 8, 3))  # 120.00
    services.record_payment(actor, invoice=e, amount="120.00", received_on=dt.date(2025, 7, 8))
    services.record_payment(actor, invoice=b, amount="100.00", received_on=dt.date(2025, 7, 11))
    issued(dt.date(2025, 7, 12), dt.date(2025, 8, 12))  # F, after the period
    return {"late_june": late_june, "b": b, "c": c, "e": e}


def _rows(report):
    return [
        (
            m["month"],
            m["from"].isoformat(),
            m["to"].isoformat(),
            f"{m['invoiced']:f}",
            f"{m['collected']:f}",
            f"{m['difference']:f}",
        )
        for m in report["months"]
    ]


def test_months_by_hand(book):
    assert book["late_june"].received_on == dt.date(2025, 6, 30)
    assert book["late_june"].base_amount == Decimal("487.42")
    report = billing_kpis(PERIOD)
    assert report["currency"] == "GBP"
    assert _rows(report) == EXPECTED
    assert report["invoiced"] == Decimal("1574.84")
    assert report["collected"] == Decimal("857.42")
    assert report["difference"] == Decimal("717.42")


def test_months_add_up_to_the_period_totals(book):
    report = billing_kpis(PERIOD)
    assert sum(m["invoiced"] for m in report["months"]) == report["invoiced"]
    assert sum(m["collected"] for m in report["months"]) == report["collected"]
    # The period's figures alone (one month at a time) are the months' figures.
    for key, first, last in month_ranges(PERIOD.start, PERIOD.end):
        alone = billing_kpis(Filters(first, last))
        [month] = alone["months"]
        assert month["month"] == key
        assert (alone["invoiced"], alone["collected"]) == (month["invoiced"], month["collected"])


def test_period_shorter_than_a_month_is_one_row(book):
    report = billing_kpis(Filters(dt.date(2025, 6, 10), dt.date(2025, 6, 20)))
    assert _rows(report) == [("2025-06", "2025-06-10", "2025-06-20", "-120.00", "0.00", "-120.00")]
    assert report["invoiced"] == Decimal("-120.00")


def test_month_ranges_clip_and_cross_the_year():
    assert month_ranges(dt.date(2024, 12, 31), dt.date(2025, 2, 1)) == [
        ("2024-12", dt.date(2024, 12, 31), dt.date(2024, 12, 31)),
        ("2025-01", dt.date(2025, 1, 1), dt.date(2025, 1, 31)),
        ("2025-02", dt.date(2025, 2, 1), dt.date(2025, 2, 1)),
    ]
    assert month_ranges(dt.date(2024, 2, 1), dt.date(2024, 2, 29)) == [
        ("2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    ]


def test_owner_and_source_filters_do_not_change_billing(book, users):
    narrowed = Filters(PERIOD.start, PERIOD.end, owner=str(users["sales"].pk), source="web")
    assert _rows(billing_kpis(narrowed)) == EXPECTED


def test_api_carries_the_months(api, book):
    body = api("billing").get(f"/api/v1/reports/kpis?{QUERY}").json()["billing"]
    assert body["invoiced"] == "1574.84" and body["collected"] == "857.42"
    assert body["difference"] == "717.42" and body["currency"] == "GBP"
    assert [tuple(m.values()) for m in body["months"]] == EXPECTED
    assert list(body["months"][0]) == ["month", "from", "to", "invoiced", "collected", "difference"]


def test_csv_export_is_audited(client_as, book):
    response = client_as(Role.BILLING).get(f"/reports/export/billing-months.csv?{QUERY}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="billing-months-2025-04-15-2025-07-10.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["month", "from", "to", "currency", "invoiced", "collected", "difference"]
    assert [(r[0], r[1], r[2], r[4], r[5], r[6]) for r in rows[1:5]] == EXPECTED
    assert {r[3] for r in rows[1:]} == {"GBP"}
    assert rows[5] == ["(total)", "2025-04-15", "2025-07-10", "GBP", "1574.84", "857.42", "717.42"]
    entry = AuditEntry.objects.filter(action="report.exported").get()
    assert entry.object_id == "billing-months"
    assert entry.changes["from"] == [None, "2025-04-15"]


@pytest.mark.parametrize(
    ("role", "code"),
    [
        (Role.OWNER, 200),
        (Role.ADMIN, 200),
        (Role.BILLING, 200),
        (Role.SALES, 403),
        (Role.DELIVERY, 403),
        (Role.VIEWER, 403),
    ],
)
def test_csv_export_roles(client_as, seller, role, code):
    assert client_as(role).get("/reports/export/billing-months.csv").status_code == code


def test_csv_without_invoices_is_a_header(client_as, seller):
    body = client_as(Role.OWNER).get("/reports/export/billing-months.csv").content.decode()
    assert list(csv.reader(io.StringIO(body))) == [
        ["month", "from", "to", "currency", "invoiced", "collected", "difference"]
    ]


def test_dashboard_table_chart_and_drill_downs(client_as, book):
    client = client_as(Role.OWNER)
    html = client.get(f"/reports/?{QUERY}").content.decode()
    assert 'id="billing-months"' in html
    assert "Invoiced and collected per month" in html  # the chart's title
    for month, *_figures in EXPECTED:
        assert f">{month}" in html
    for figure in ("854.84", "487.42", "367.42", "1574.84", "857.42", "717.42"):
        assert figure in html
    june = "from=2025-06-01&amp;to=2025-06-30"
    assert f"/reports/records/invoices/?{june}&amp;view=issued" in html
    assert f"/reports/records/payments/?{june}" in html
    assert "(15 Apr–30 Apr)" in html and "(1 Jul–10 Jul)" in html
    assert "Export months (CSV)" in html
    # The drill-downs list exactly the records behind June's figures.
    issued = client.get(
        "/reports/records/invoices/?from=2025-06-01&to=2025-06-30&view=issued&format=csv"
    )
    [_header, *documents] = list(csv.reader(io.StringIO(issued.content.decode())))
    assert [(d[1], d[6], d[9]) for d in documents] == [  # type, gross, currency
        ("Invoice", "1200.00", "USD"),
        ("Credit note", "120.00", "GBP"),  # subtracted: a credit note
    ]
    assert documents[0][0] == book["c"].number
    paid = client.get("/reports/records/payments/?from=2025-06-01&to=2025-06-30&format=csv")
    [_header, payment] = list(csv.reader(io.StringIO(paid.content.decode())))
    assert payment[0] == "2025-06-30" and payment[-1] == "487.42"


def test_kpis_all_export_flattens_the_months(client_as, book):
    body = client_as(Role.OWNER).get(f"/reports/export/kpis.csv?{QUERY}").content.decode()
    rows = dict(csv.reader(io.StringIO(body)))
    assert rows["billing.months[2].month"] == "2025-06"
    assert rows["billing.months[2].invoiced"] == "854.84"
    assert rows["billing.collected"] == "857.42"
    assert kpis(PERIOD)["billing"]["months"][1]["collected"] == Decimal("0.00")
