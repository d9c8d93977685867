"""The cash-flow forecast on a constructed history: client timing, conditioning on being still
unpaid, the weighted pipeline, the seeded p10–p90 band."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from throughline.billing import services
from throughline.crm import services as crm
from throughline.reports.forecast import forecast
from throughline.sales.services import pipeline as sales

TODAY = dt.date(2025, 6, 30)


def _history(issued, at, actor, contact, days_late: list[int]):
    """Paid invoices of ``contact``: due 30 days after issue, paid ``days_late`` after due."""
    for n, late in enumerate(days_late):
        issue = dt.date(2025, 1, 1) + dt.timedelta(days=20 * n)
        at(issue)
        invoice = issued(issue, issue + dt.timedelta(days=30), contact=contact)
        at(issue + dt.timedelta(days=30 + late))
        services.record_payment(actor, invoice=invoice, amount="120.00")


def _by_day(report):
    return {p["date"]: p for p in report["series"]}


def test_reliably_late_client_lands_later_than_terms(actor, seller, issued, at, client_contact):
    newcomer = crm.create_contact(actor, first_name="No", last_name="History", email="n@h.example")
    _history(issued, at, actor, client_contact, [10, 10, 10])
    at(TODAY)
    late = issued(dt.date(2025, 6, 25), dt.date(2025, 7, 25))
    issued(dt.date(2025, 6, 30), dt.date(2025, 7, 30), unit_price="50.00", contact=newcomer)

    report = forecast(TODAY, 90)
    days = _by_day(report)
    assert late.due_date == dt.date(2025, 7, 25)
    assert days[dt.date(2025, 7, 25)]["expected"] == Decimal("0.00")  # not on its terms
    assert days[dt.date(2025, 8, 4)]["expected"] == Decimal("120.00")  # 10 days late, as always
    assert days[dt.date(2025, 7, 30)]["expected"] == Decimal("60.00")  # no history: the terms
    assert report["total"] == Decimal("180.00")
    assert report["by_source"]["open_invoices"] == {"items": 2, "expected": Decimal("180.00")}
    # Certain amounts on certain days: the band collapses onto the expectation.
    assert days[dt.date(2025, 8, 3)]["cumulative_high"] == Decimal("60.00")
    assert days[dt.date(2025, 8, 4)]["cumulative_low"] == Decimal("180.00")


def test_history_spreads_timing_and_drops_cases_already_behind(
    actor, seller, issued, at, client_contact
):
    _history(issued, at, actor, client_contact, [0, 10, 20])
    at(TODAY)
    issued(dt.date(2025, 5, 21), dt.date(2025, 6, 20))  # still unpaid: 30 Jun or 10 Jul only
    issued(dt.date(2025, 6, 10), dt.date(2025, 7, 10))  # 10 Jul, 20 Jul or 30 Jul

    report = forecast(TODAY, 90)
    days = _by_day(report)
    assert days[dt.date(2025, 7, 20)]["expected"] == Decimal("40.00")
    assert days[dt.date(2025, 7, 30)]["expected"] == Decimal("40.00")
    assert days[TODAY]["expected"] == Decimal("60.00")
    assert days[dt.date(2025, 7, 10)]["expected"] == Decimal("100.00")  # 40 + 60
    assert report["total"] == Decimal("240.00")
    for point in report["series"]:
        assert point["cumulative_low"] <= point["cumulative_p50"] <= point["cumulative_high"]
    # Early in July the low case has nothing of the first invoice yet, the high case has all.
    assert days[dt.date(2025, 7, 10)]["cumulative_low"] < days[dt.date(2025, 7, 10)]["cumulative"]
    assert days[dt.date(2025, 7, 30)]["cumulative_high"] == Decimal("240.00")


def test_weighted_pipeline_seeded_band(actor, seller, at):
    at(dt.date(2025, 6, 1))
    pipe = sales.create_pipeline(
        actor, name="Forecast", stages=[{"name": "Offer", "probability": 60}]
    )
    stage = pipe.stages.get()
    for n in range(10):
        sales.create_deal(
            actor,
            pipeline=pipe,
            stage=stage,
            title=f"Deal {n}",
            value="1000",
            currency="GBP",
            expected_close_date=dt.date(2025, 7, 15),
        )
    sales.create_deal(  # no rate stored for USD anywhere: left out
        actor, pipeline=pipe, stage=stage, title="Dollars", value="999", currency="USD"
    )
    at(TODAY)
    report = forecast(TODAY, 90)
    again = forecast(TODAY, 90)
    days = _by_day(report)
    arrival = dt.date(2025, 8, 14)  # expected close + 30 days of terms
    assert days[arrival]["expected"] == Decimal("6000.00")  # 10 × 1000 × 60 %
    assert report["by_source"]["pipeline"]["items"] == 10
    assert report["series"] == again["series"]  # seeded: the same band every time
    low, high = days[arrival]["cumulative_low"], days[arrival]["cumulative_high"]
    assert Decimal("2000") <= low < Decimal("6000") < high <= Decimal("9000")
    assert days[arrival - dt.timedelta(days=1)]["cumulative_high"] == Decimal("0.00")
    other_seed = forecast(TODAY, 90, seed=1)
    assert other_seed["total"] == report["total"]  # the expectation does not depend on it


@pytest.mark.parametrize("days", [1, 30, 366])
def test_horizon(seller, days):
    report = forecast(TODAY, days)
    assert len(report["series"]) == days
    assert report["total"] == Decimal("0.00")


def test_backtest_compares_each_month_with_what_happened(actor, seller, issued, at, client_contact):
    from throughline.reports.backtest import backtest

    _history(issued, at, actor, client_contact, [10, 10, 10])
    at(dt.date(2025, 5, 1))
    a = issued(dt.date(2025, 5, 1), dt.date(2025, 5, 21))  # known on 1 May: expected 31 May
    at(dt.date(2025, 5, 15))
    b = issued(dt.date(2025, 5, 15), dt.date(2025, 6, 4))  # known on 1 June: expected 14 June
    at(dt.date(2025, 5, 31))
    services.record_payment(actor, invoice=a, amount="120.00")
    at(dt.date(2025, 6, 5))
    c = issued(dt.date(2025, 6, 5), dt.date(2025, 6, 25))  # unknown on 1 June
    at(dt.date(2025, 6, 20))
    services.record_payment(actor, invoice=b, amount="120.00")
    at(dt.date(2025, 6, 25))
    services.record_payment(actor, invoice=c, amount="120.00")
    at(dt.date(2025, 7, 15))

    report = backtest(dt.date(2025, 7, 15), months=2)
    may, june = report["months"]
    assert (may["month"], may["forecast"], may["actual"], may["error"]) == (
        "2025-05",
        Decimal("120.00"),
        Decimal("120.00"),
        Decimal("0.00"),
    )
    assert may["ape"] == Decimal("0.0") and may["in_band"]
    assert (june["forecast"], june["actual"], june["error"]) == (
        Decimal("120.00"),
        Decimal("240.00"),
        Decimal("-120.00"),
    )
    assert june["ape"] == Decimal("50.0") and not june["in_band"]
    assert report["mape_percent"] == Decimal("25.0")
    assert report["mean_absolute_error"] == Decimal("60.00")
    assert report["in_band"] == 1


def test_later_than_ever_spreads_over_thirty_days(actor, seller, issued, at, client_contact):
    _history(issued, at, actor, client_contact, [0, 10, 20])
    at(TODAY)
    issued(dt.date(2025, 5, 1), dt.date(2025, 5, 31))  # 30 days late already; never that late
    report = forecast(TODAY, 90)
    days = _by_day(report)
    assert days[TODAY]["expected"] == Decimal("4.00")  # 120.00 ÷ 30
    assert days[dt.date(2025, 7, 29)]["expected"] == Decimal("4.00")
    assert days[dt.date(2025, 7, 30)]["expected"] == Decimal("0.00")
    assert report["total"] == Decimal("120.00")


def test_pipeline_as_of_a_past_day_uses_the_stage_it_was_in(actor, seller, at):
    at(dt.date(2025, 6, 1))
    pipe = sales.create_pipeline(
        actor,
        name="History",
        stages=[{"name": "Early", "probability": 20}, {"name": "Late", "probability": 60}],
    )
    early, late = pipe.stages.order_by("position")
    deal = sales.create_deal(
        actor,
        pipeline=pipe,
        stage=early,
        title="Moving",
        value="1000",
        currency="GBP",
        expected_close_date=dt.date(2025, 7, 15),
    )
    at(dt.date(2025, 6, 20))
    sales.move_deal(actor, deal, late)
    at(TODAY)
    assert forecast(dt.date(2025, 6, 10), 90)["by_source"]["pipeline"]["expected"] == Decimal(
        "200.00"
    )
    assert forecast(TODAY, 90)["by_source"]["pipeline"]["expected"] == Decimal("600.00")


@pytest.mark.postgres
def test_todays_open_invoices_read_per_client_equal_the_rows_at_a_date(
    actor, seller, issued, at, client_contact, monkeypatch
):
    """PostgreSQL reads today's open invoices per client from billing's index and a past
    date's from the allocations: on the same book both give the same groups and histories."""
    from throughline.reports import aging, forecast_inputs

    newcomer = crm.create_contact(actor, first_name="No", last_name="History", email="n@h.example")
    _history(issued, at, actor, client_contact, [-3, 5, 12, 40])
    at(TODAY)
    issued(dt.date(2025, 3, 5), dt.date(2025, 4, 4))  # beyond its latest: spread
    issued(dt.date(2025, 5, 1), dt.date(2025, 5, 31), contact=newcomer)  # overdue, no history
    issued(dt.date(2025, 5, 20), dt.date(2025, 6, 19))  # overdue within its history
    issued(dt.date(2025, 6, 28), dt.date(2025, 7, 28), unit_price="70.00")
    issued(dt.date(2025, 6, 30), dt.date(2025, 7, 30), unit_price="50.00", contact=newcomer)
    results = []
    for today in (True, False):
        monkeypatch.setattr(aging, "settled_through", lambda day, today=today: today)
        (clients, due_in, amount), (late_of, late) = forecast_inputs._open_with_history(
            TODAY, "GBP"
        )
        results.append(
            (
                clients.tolist(),
                due_in.tolist(),
                amount.round(2).tolist(),
                late_of.tolist(),
                late.tolist(),
            )
        )
    assert results[0] == results[1]
    clients, due_in, amount, late_of, late = results[0]
    assert sorted(due_in) == [forecast_inputs.FOLDED_SPREAD, -11, 0, 28, 30]
    assert sum(amount) == pytest.approx(120 * 3 + 84 + 60)
    assert late == [-3, 5, 12, 40] and len(set(late_of)) == 1  # the newcomer has none
