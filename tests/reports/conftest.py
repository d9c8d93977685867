"""Reports fixtures: billing's seller, client and API client (reused from tests/billing), and
helpers that make invoices and payments through billing's services."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.billing.conftest import (  # noqa: F401 - fixtures reused as they are
    _compiled_rules,
    _media,
    api,
    client_company,
    client_contact,
    line,
    seller,
)
from throughline.billing import services


@pytest.fixture
def at(time_machine):
    """``at(date)`` moves the clock to noon UTC of that day."""

    def move(day: dt.date):
        time_machine.move_to(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))

    return move


@pytest.fixture
def issued(actor, client_contact):  # noqa: F811 - the fixture imported above
    """``issued(issue_date, due_date, unit_price="100.00", currency="GBP", **header)``: an
    invoice of one line at 20 % VAT, issued through billing's services."""

    def make(issue_date, due_date, unit_price="100.00", contact=None, **header):
        header.setdefault("currency", "GBP")
        invoice = services.create_invoice(
            actor,
            contact=contact or client_contact,
            lines=[line(unit_price=unit_price)],
            issue_date=issue_date,
            due_date=due_date,
            **header,
        )
        return services.issue_invoice(actor, invoice)

    return make
