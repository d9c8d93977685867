"""Every dashboard figure links to the records behind it: the drill-down lists select exactly
what the figure counted, keep the filters, export as CSV (audited) and respect permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest

from tests.reports.conftest import line
from throughline.billing import services
from throughline.core.models.audit import AuditEntry
from throughline.core.roles import Role
from throughline.reports.kpis import kpis
from throughline.reports.kpis.filters import Filters
from throughline.sales.services import pipeline as sales

JUNE = "from=2025-06-01&to=2025-06-30"


@pytest.fixture
def book(actor, seller, issued, at, users):
    at(dt.date(2025, 5, 10))
    old = issued(dt.date(2025, 5, 10), dt.date(2025, 5, 31))  # overdue on 30 June
    at(dt.date(2025, 6, 6))
    june = issued(dt.date(2025, 6, 5), dt.date(2025, 7, 5))
    usd = issued(
        dt.date(2025, 6, 6), dt.date(2025, 7, 6), currency="USD", exchange_rate=Decimal("0.8")
    )
    at(dt.date(2025, 6, 10))
    services.record_payment(actor, invoice=june, amount="20.00")  # partial
    note = services.credit_invoice(actor, usd, reason="Partly", lines=[line(unit_price="50")])
    pipe = sales.create_pipeline(actor, name="Drill", stages=[{"name": "Talk", "probability": 50}])
    stage = pipe.stages.get()

    def deal(title, close, owner):
        return sales.create_deal(
            actor,
            pipeline=pipe,
            stage=stage,
            title=title,
            value="100",
            currency="GBP",
            expected_close_date=close,
            owner=owner,
        )

    deals = {
        "july": deal("July deal", dt.date(2025, 7, 15), users[Role.SALES]),
        "august": deal("August deal", dt.date(2025, 8, 1), users[Role.OWNER]),
        "won": deal("Won deal", None, users[Role.SALES]),
    }
    at(dt.date(2025, 6, 20))
    sales.win_deal(actor, deals["won"])
    at(dt.date(2025, 6, 30))
    return {"old": old, "june": june, "usd": usd, "note": note, "deals": deals}


def _links(html: str) -> set[str]:
    return {m.replace("&amp;", "&") for m in re.findall(r'href="(/reports/records/[^"]+)"', html)}


def _numbers(response) -> str:
    return response.content.decode()


def test_figures_link_to_their_records(client_as, book):
    html = client_as(Role.OWNER).get(f"/reports/?{JUNE}").content.decode()
    links = _links(html)
    assert f"/reports/records/invoices/?{JUNE}&view=open" in links  # AR
    assert f"/reports/records/invoices/?{JUNE}&view=issued" in links  # invoiced, credit sales
    assert f"/reports/records/payments/?{JUNE}" in links  # collected
    assert f"/reports/records/deals/?{JUNE}&view=open&month=2025-07&currency=GBP" in links
    assert f"/reports/records/deals/?{JUNE}&view=won" in links
    for link in links:  # every drill-down answers
        assert client_as(Role.OWNER).get(link).status_code == 200, link

    client = client_as(Role.OWNER)
    ar = _numbers(client.get(f"/reports/records/invoices/?{JUNE}&view=open"))
    assert all(i.number in ar for i in (book["old"], book["june"], book["usd"]))
    overdue = _numbers(client.get(f"/reports/records/invoices/?{JUNE}&view=overdue"))
    assert book["old"].number in overdue and book["june"].number not in overdue
    issued = _numbers(client.get(f"/reports/records/invoices/?{JUNE}&view=issued"))
    assert book["note"].number in issued and book["old"].number not in issued
    july = _numbers(client.get(f"/reports/records/deals/?{JUNE}&view=open&month=2025-07"))
    assert "July deal" in july and "August deal" not in july and "Won deal" not in july
    won = _numbers(client.get(f"/reports/records/deals/?{JUNE}&view=won"))
    assert "Won deal" in won and "July deal" not in won
    owner = _numbers(
        client.get(
            f"/reports/records/deals/?{JUNE}&view=open&owner={book['deals']['august'].owner_id}"
        )
    )
    assert "August deal" in owner and "July deal" not in owner


def test_drill_counts_match_the_kpis(client_as, book):
    figures = kpis(Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30)))
    client = client_as(Role.BILLING)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(f"/reports/records/deals/?{JUNE}&view=won&format=csv").content.decode()
            )
        )
    )
    assert len(rows) - 1 == figures["sales"]["won"] == 1
    pipeline_deals = sum(r["deals"] for r in figures["sales"]["pipeline"])
    body = client.get(f"/reports/records/deals/?{JUNE}&view=open&format=csv").content.decode()
    assert len(list(csv.reader(io.StringIO(body)))) - 1 == pipeline_deals == 2
    payments = client.get(f"/reports/records/payments/?{JUNE}&format=csv").content.decode()
    [header, payment] = list(csv.reader(io.StringIO(payments)))
    assert header[0] == "Received" and payment[3] == "20.00"
    assert figures["billing"]["collected"] == Decimal("20.00")
    exports = AuditEntry.objects.filter(action="report.exported")
    assert set(exports.values_list("object_id", flat=True)) == {
        "records.deals.won",
        "records.deals.open",
        "records.payments",
    }


def test_bad_drill_parameters_answer_400_and_permissions(client_as, book):
    response = client_as(Role.OWNER).get("/reports/records/invoices/?view=nonsense")
    assert response.status_code == 400 and "view:" in response.content.decode()
    bad_month = client_as(Role.OWNER).get("/reports/records/deals/?view=open&month=June")
    assert bad_month.status_code == 400
    assert (
        client_as(Role.SALES).get(f"/reports/records/deals/?{JUNE}&format=csv").status_code == 403
    )
    for path in ("invoices", "payments", "deals", "leads", "proposals"):
        assert client_as(Role.VIEWER).get(f"/reports/records/{path}/").status_code == 403
        assert client_as(Role.DELIVERY).get(f"/reports/records/{path}/").status_code == 403
        assert client_as(Role.SALES).get(f"/reports/records/{path}/").status_code == 200


@pytest.mark.parametrize("report", ["backtest", "review"])
def test_new_report_exports(client_as, book, report):
    response = client_as(Role.BILLING).get(f"/reports/export/{report}.csv?to=2025-06-30")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][0] in ("month", "week_start")
    if report == "backtest":
        assert [r[0] for r in rows[1:]] == [f"2024-{m:02d}" for m in (12,)] + [
            f"2025-{m:02d}" for m in range(1, 6)
        ]


def test_billing_and_dso_by_hand(book):
    """June: GBP 120.00 and USD 120.00 at 0.8 (96.00) issued, a USD credit note of 60.00
    (48.00) — a partial GBP payment of 20.00."""
    from throughline.reports.dso import dso

    figures = kpis(Filters(dt.date(2025, 6, 1), dt.date(2025, 6, 30)))["billing"]
    assert figures["invoiced"] == Decimal("168.00")  # 120 + 96 − 48
    assert figures["collected"] == Decimal("20.00")
    report = dso(dt.date(2025, 6, 30), 30)
    # AR: May's 120.00 + June's 100.00 + the USD invoice's 60.00 left (48.00) = 268.00
    assert report["ar"] == Decimal("268.00")
    assert report["dso"] == Decimal("47.9")  # 268 ÷ 168 × 30
    # Countback: 30 Jun … 7 Jun absorb nothing (24 days; 10 Jun's sales are negative), 6 Jun
    # takes 216.00 (25), 5 Jun … 11 May nothing (26 more: 51), 10 May 52 of 120.00 (0.43).
    assert report["countback_dso"] == Decimal("51.4")
