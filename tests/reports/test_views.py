"""The dashboard, the aging drill-down and the audited CSV exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from throughline.core.models.audit import AuditEntry
from throughline.core.roles import Role


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC))


@pytest.fixture
def overdue(seller, issued):
    return issued(dt.date(2025, 5, 1), dt.date(2025, 5, 20))  # 41 days past due on 30 June


def test_dashboard_shows_figures_definitions_and_links(client_as, overdue):
    response = client_as(Role.OWNER).get("/reports/?from=2025-06-01&to=2025-06-30")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "Definition" in html
    assert "/reports/aging/31_60/?as_of=2025-06-30" in html
    assert "/reports/export/aging.csv" in html
    drill = client_as(Role.OWNER).get("/reports/aging/31_60/?as_of=2025-06-30")
    assert overdue.number in drill.content.decode()
    assert f"/billing/invoices/{overdue.pk}/" in drill.content.decode()


def test_dashboard_permissions(client_as, seller):
    assert client_as(Role.SALES).get("/reports/").status_code == 200
    assert client_as(Role.VIEWER).get("/reports/").status_code == 403
    assert client_as(Role.DELIVERY).get("/reports/").status_code == 403


def test_bad_filter_does_not_break_the_page(client_as, seller):
    response = client_as(Role.OWNER).get("/reports/?from=nonsense")
    assert response.status_code == 200
    assert "from:" in response.content.decode()


@pytest.mark.parametrize("report", ["aging", "dso", "kpis", "forecast"])
def test_csv_export_is_audited(client_as, overdue, report):
    response = client_as(Role.BILLING).get(f"/reports/export/{report}.csv?to=2025-06-30")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert len(rows) > 1
    entry = AuditEntry.objects.filter(action="report.exported").get()
    assert entry.object_id == report
    if report == "aging":
        assert rows[0][:2] == ["number", "issue_date"]
        assert rows[1][0] == overdue.number and rows[1][4] == "31_60"
        assert rows[1][-1] == "120.00"


def test_csv_export_needs_export_permission(client_as, overdue):
    assert client_as(Role.SALES).get("/reports/export/aging.csv").status_code == 403
    assert not AuditEntry.objects.filter(action="report.exported").exists()
    assert client_as(Role.OWNER).get("/reports/export/nope.csv").status_code == 404
