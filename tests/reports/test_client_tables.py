"""Billing per client: average days to pay and overdue by client, against a hand-computed book
of invoices issued and paid through billing's services, the clock moved with time-machine.

Hand-computed (organization time zone UTC, today 10 February 2026):
* Ada: A1 issued 5 Jan, paid in full 15 Jan → 10 days. A2 issued 5 Jan, 50.00 on 25 Jan
  (partial), the other 70.00 on 4 Feb → 30 days. A3 issued 1 Feb, due 3 Mar: open, not overdue.
  Days to pay (January–February): (10 + 30) / 2 = 20.0 over 2 invoices, 240.00 GBP gross.
  In January alone: A1 only, 10.0.
* Bob: B1 issued 5 Jan, due 15 Jan, 20.00 paid → 100.00 due; B2 issued 10 Jan, due 25 Jan,
  nothing paid → 120.00 due. Overdue: 2 invoices, 220.00 GBP, oldest due 15 Jan.
  B3 in USD issued 6 Jan, due 20 Jan, 60.00 USD credited (credit note) → 60.00 USD overdue.
  B4 issued 8 Jan and paid the same day → 0 days (paid in full, a second row of days to pay).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from tests.reports.conftest import line
from throughline.billing import services
from throughline.core.models.audit import AuditEntry
from throughline.crm import services as crm
from throughline.reports.kpis.clients import client_tables
from throughline.reports.kpis.filters import Filters

pytestmark = pytest.mark.django_db
JAN_FEB = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 2, 28))
JANUARY = Filters(start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31))


def d(month, day):
    return dt.date(2026, month, day)


@pytest.fixture
def bob(actor, seller):
    return crm.create_contact(actor, first_name="Bob", last_name="Byte", email="bob@byte.example")


@pytest.fixture
def book(actor, seller, issued, at, client_contact, bob):
    at(d(1, 5))
    a1 = issued(d(1, 5), d(2, 4))
    a2 = issued(d(1, 5), d(2, 4))
    b1 = issued(d(1, 5), d(1, 15), contact=bob)
    at(d(1, 6))
    b3 = issued(d(1, 6), d(1, 20), contact=bob, currency="USD", exchange_rate=Decimal("0.8"))
    services.credit_invoice(actor, b3, reason="Partly", lines=[line(unit_price="50")])
    at(d(1, 8))
    b4 = issued(d(1, 8), d(1, 22), contact=bob)
    services.record_payment(actor, invoice=b4, amount="120.00")
    at(d(1, 10))
    issued(d(1, 10), d(1, 25), contact=bob)
    at(d(1, 15))
    services.record_payment(actor, invoice=a1, amount="120.00")
    at(d(1, 20))
    services.record_payment(actor, invoice=b1, amount="20.00")
    at(d(1, 25))
    services.record_payment(actor, invoice=a2, amount="50.00")
    at(d(2, 1))
    issued(d(2, 1), d(3, 3))
    at(d(2, 4))
    services.record_payment(actor, invoice=a2, amount="70.00")
    at(d(2, 10))
    return {"ada": client_contact, "bob": bob}


def test_no_invoices_no_client_tables(seller):
    assert client_tables(JAN_FEB) is None


def test_client_tables_match_the_hand_computed_figures(book):
    ada, bob = book["ada"], book["bob"]
    tables = client_tables(JAN_FEB)
    assert tables["days_to_pay"] == [
        {
            "contact_id": str(ada.pk),
            "client": str(ada),
            "currency": "GBP",
            "invoices": 2,
            "gross": Decimal("240.00"),
            "average_days": 20.0,
        },
        {
            "contact_id": str(bob.pk),
            "client": str(bob),
            "currency": "GBP",
            "invoices": 1,
            "gross": Decimal("120.00"),
            "average_days": 0.0,
        },
    ]
    assert tables["overdue"] == [
        {
            "contact_id": str(bob.pk),
            "client": str(bob),
            "currency": "GBP",
            "invoices": 2,
            "amount_due": Decimal("220.00"),
            "oldest_due": d(1, 15),
        },
        {
            "contact_id": str(bob.pk),
            "client": str(bob),
            "currency": "USD",
            "invoices": 1,
            "amount_due": Decimal("60.00"),
            "oldest_due": d(1, 20),
        },
    ]
    january = client_tables(JANUARY)["days_to_pay"]
    assert [(r["client"], r["invoices"], r["average_days"]) for r in january] == [
        (str(ada), 1, 10.0),
        (str(bob), 1, 0.0),
    ]


def test_dashboard_tables_drill_down_and_csv(book, client_as):
    ada, bob = book["ada"], book["bob"]
    owner = client_as("owner")
    page = owner.get("/reports/?from=2026-01-01&to=2026-02-28").content.decode()
    assert 'id="clients"' in page and "Average days to pay" in page and "220.00 GBP" in page

    paid = owner.get(
        f"/reports/records/invoices/?view=paid&from=2026-01-01&to=2026-02-28&contact={ada.pk}"
        "&currency=GBP&format=csv"
    )
    assert paid.status_code == 200
    rows = list(csv.DictReader(io.StringIO(paid.content.decode())))
    assert len(rows) == 2 and {r["Client"] for r in rows} == {str(ada)}
    overdue = owner.get(
        f"/reports/records/invoices/?view=overdue&to=2026-02-10&contact={bob.pk}&currency=GBP"
        "&format=csv"
    )
    rows = list(csv.DictReader(io.StringIO(overdue.content.decode())))
    assert sorted(r["Amount due"] for r in rows) == ["100.00", "120.00"]
    bad = owner.get("/reports/records/invoices/?view=paid&contact=nobody")
    assert bad.status_code == 400

    export = owner.get("/reports/export/clients.csv?from=2026-01-01&to=2026-02-28")
    assert export.status_code == 200
    table = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert [(r["table"], r["currency"], r["amount"]) for r in table] == [
        ("days_to_pay", "GBP", "240.00"),
        ("days_to_pay", "GBP", "120.00"),
        ("overdue", "GBP", "220.00"),
        ("overdue", "USD", "60.00"),
    ]
    assert AuditEntry.objects.filter(action="report.exported", object_id="clients").exists()
    assert client_as("sales").get("/reports/export/clients.csv").status_code == 403


def test_api_kpis_carry_the_client_tables(book, api):
    body = api().get("/api/v1/reports/kpis?from=2026-01-01&to=2026-02-28").json()
    assert [r["average_days"] for r in body["clients"]["days_to_pay"]] == [20.0, 0.0]
    assert [(r["currency"], r["amount_due"]) for r in body["clients"]["overdue"]] == [
        ("GBP", "220.00"),
        ("USD", "60.00"),
    ]
