"""Scheduled receipts in the forecast: an accepted proposal's instalments (until invoiced) and a
retainer's future months, made through sales' real services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.sales.conftest import (  # noqa: F401 - fixtures reused as they are
    actor_for,
    approved_template,
    deal,
    items,
    policy,
    proposal,
    sales_actor,
    template_content,
)
from throughline.core import money
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.reports.forecast import forecast
from throughline.sales.services import acceptance, templates
from throughline.sales.services import proposals as proposal_services

TODAY = dt.date(2025, 6, 30)


def _accept(sales_actor, proposal):  # noqa: F811
    proposal_services.send_proposal(sales_actor, proposal)
    proposal.refresh_from_db()
    version = proposal.client_version()
    acceptance.accept_proposal(
        Actor.system(), proposal, version_id=version.pk, options=[], name="Peter", agreed=True
    )
    version.refresh_from_db()
    return version


def _by_day(report):
    return {p["date"]: p["expected"] for p in report["series"]}


def test_instalments_until_invoiced(at, seller, sales_actor, proposal, issued, client_contact):  # noqa: F811
    at(dt.date(2025, 6, 20))
    version = _accept(sales_actor, proposal)
    half = money.percent_of(version.gross_total, 50, "GBP")  # rounded half up
    at(TODAY)
    report = forecast(TODAY, 90)
    days = _by_day(report)
    # On signing (accepted 20 June; invoiced now at the earliest) + 30 days of terms.
    assert days[dt.date(2025, 7, 30)] == half
    # On completion: the last milestone (30 days after acceptance) + 30 days of terms.
    assert days[dt.date(2025, 8, 19)] == version.gross_total - half
    assert report["by_source"]["scheduled"]["items"] == 2

    # The deposit invoice is issued: the first instalment is no longer "scheduled".
    issued(TODAY, TODAY + dt.timedelta(days=14), unit_price=str(half / Decimal("1.2")))
    report = forecast(TODAY, 90)
    assert report["by_source"]["scheduled"]["items"] == 1
    assert _by_day(report)[dt.date(2025, 8, 19)] == version.gross_total - half


@pytest.fixture
def retainer_template(actor, owner, items):  # noqa: F811
    content = template_content(items)
    content["payment_schedule"] = {"kind": "retainer", "items": [], "term_months": 3}
    template = templates.create_template(
        actor, name="Monthly retainer", currency="GBP", content=content
    )
    version = template.versions.get()
    templates.submit_version(actor, version)
    templates.approve_version(Actor(user=owner, channel=Channel.UI), version, "Fine.")
    return template


def test_retainer_future_months(at, seller, sales_actor, deal, retainer_template, policy):  # noqa: F811
    at(dt.date(2025, 6, 15))
    retainer = proposal_services.create_proposal(sales_actor, deal, retainer_template)
    version = _accept(sales_actor, retainer)
    at(TODAY)
    report = forecast(TODAY, 90)
    days = _by_day(report)
    # Months of 15 June (already invoiced), 15 July and 15 August; paid 30 days after each.
    assert days[dt.date(2025, 8, 14)] == version.gross_total
    assert days[dt.date(2025, 9, 14)] == version.gross_total
    assert report["by_source"]["retainers"]["items"] == 2
