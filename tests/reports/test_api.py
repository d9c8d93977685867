"""The API of DESIGN §6: shapes, parameter errors, permissions per role."""

from __future__ import annotations

import datetime as dt

import pytest

from throughline.core.roles import Role

ALLOWED = {Role.OWNER, Role.ADMIN, Role.SALES, Role.BILLING}


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2025, 6, 30, 12, tzinfo=dt.UTC))


def test_aging_shape(api, seller, issued):
    issued(dt.date(2025, 6, 1), dt.date(2025, 6, 15))
    response = api("billing").get("/api/v1/reports/aging?as_of=2025-06-30")
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == "2025-06-30"
    assert body["currency"] == "GBP"
    assert body["buckets"] == {
        "current": "0.00",
        "1_30": "120.00",
        "31_60": "0.00",
        "61_90": "0.00",
        "over_90": "0.00",
    }


def test_dso_kpis_forecast_shapes(api, seller, issued):
    issued(dt.date(2025, 6, 1), dt.date(2025, 7, 1))
    client = api()
    dso = client.get("/api/v1/reports/dso?as_of=2025-06-30&days=30").json()
    assert (dso["ar"], dso["credit_sales"], dso["dso"]) == ("120.00", "120.00", "30.0")
    kpis = client.get("/api/v1/reports/kpis?from=2025-06-01&to=2025-06-30").json()
    assert kpis["from"] == "2025-06-01" and kpis["billing"]["invoiced"] == "120.00"
    forecast = client.get("/api/v1/reports/forecast?days=90").json()
    assert len(forecast["series"]) == 90
    assert forecast["series"][1] == {  # due 1 July, no payment history: on its due date
        "date": "2025-07-01",
        "expected": "120.00",
        "cumulative": "120.00",
        "cumulative_low": "120.00",
        "cumulative_p50": "120.00",
        "cumulative_high": "120.00",
    }
    assert forecast["method"].startswith("monte_carlo:500:seed=")
    backtest = client.get("/api/v1/reports/backtest?months=3").json()
    assert [m["month"] for m in backtest["months"]] == ["2025-03", "2025-04", "2025-05"]


def test_bad_parameter_is_a_problem(api, seller):
    response = api().get("/api/v1/reports/aging?as_of=yesterday")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert "as_of" in response.json()["errors"]
    assert api().get("/api/v1/reports/dso?days=0").status_code == 400


@pytest.mark.parametrize("role", list(Role))
def test_permissions_per_role(api, seller, role):
    for path in ("aging", "dso", "kpis", "forecast", "backtest", "review"):
        response = api(role).get(f"/api/v1/reports/{path}")
        assert response.status_code == (200 if role in ALLOWED else 403), (role, path)
