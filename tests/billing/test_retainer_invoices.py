"""A retainer's period is invoiced when delivery opens it, once (billing/handlers_delivery.py).

The retainer is made as the product makes it (a retainer proposal accepted through sales,
the contract announced signed, the project kicked off by delivery) and its periods are opened
by delivery's own daily sweep through the scheduler.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction

from tests.delivery.fixtures import *  # noqa: F403 - the project made as delivery makes it
from tests.delivery.fixtures import accept_proposal, sign
from throughline.billing.handlers_delivery import issue_retainer_invoice
from throughline.billing.models import Invoice
from throughline.core import events, scheduler
from throughline.core.actor import Actor
from throughline.core.models import DomainEvent
from throughline.delivery.models import Project

pytestmark = pytest.mark.django_db
START = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def retainer(actor, sales_actor, peter, seller, run_jobs):
    with time_machine.travel(START, tick=False):
        proposal = accept_proposal(
            actor, sales_actor, peter, schedule={"kind": "retainer", "term_months": 3}
        )
        sign(actor, proposal)
        run_jobs()
    return Project.objects.get(proposal=proposal)


def sweep(at: dt.datetime, run_jobs) -> None:
    with time_machine.travel(at, tick=False):
        scheduler.tick()
        run_jobs()


def retainer_invoices():
    return Invoice.objects.filter(source__startswith="delivery.retainer:").order_by("number")


def test_each_period_is_invoiced_once_issued_and_emailed(retainer, run_jobs, smtp_server):
    sweep(START + dt.timedelta(hours=1), run_jobs)
    invoice = retainer_invoices().get()
    assert invoice.source == f"delivery.retainer:{retainer.pk}:1"
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert invoice.contact == retainer.contact and invoice.currency == "GBP"
    # the period's net amount at the contract's 20% VAT (EN 16931 BT-109, BT-110, BT-112)
    [line] = invoice.lines.all()
    assert line.description == "Retainer period 1: 2026-01-31 to 2026-02-27"
    assert line.net_amount == Decimal("3800.00") and line.vat_rate == Decimal("20.00")
    assert invoice.net_total == Decimal("3800.00") and invoice.tax_total == Decimal("760.00")
    assert invoice.payable_total == Decimal("4560.00")
    assert "2026-01-31 to 2026-02-27" in invoice.notes
    assert [
        m["envelope"].rcpt_tos
        for m in smtp_server.messages
        if invoice.number in m["message"]["Subject"]
    ] == [["peter@initech.example"]]

    # swept again the same month: no new period, no new invoice
    sweep(dt.datetime(2026, 2, 20, 9, tzinfo=dt.UTC), run_jobs)
    assert retainer_invoices().count() == 1

    sweep(dt.datetime(2026, 2, 28, 9, tzinfo=dt.UTC), run_jobs)
    assert [i.source for i in retainer_invoices()] == [
        f"delivery.retainer:{retainer.pk}:1",
        f"delivery.retainer:{retainer.pk}:2",
    ]
    assert retainer_invoices().last().lines.get().description.startswith("Retainer period 2: ")


def test_a_redelivered_period_event_invoices_nothing_twice(retainer, run_jobs):
    sweep(START + dt.timedelta(hours=1), run_jobs)
    started = DomainEvent.objects.get(name="retainer.period_started")
    assert issue_retainer_invoice(started) == "retainer invoice already invoiced"
    with transaction.atomic():
        events.emit(
            Actor.system(label="delivery"),
            "retainer.period_started",
            subject_type=started.subject_type,
            subject_id=started.subject_id,
            **started.payload,
        )
    run_jobs()
    assert retainer_invoices().count() == 1


def test_a_period_without_amount_or_tax_groups_is_left_alone(retainer, peter, run_jobs):
    payload = {
        "project_id": str(retainer.pk),
        "period_id": "p",
        "number": 9,
        "starts_on": "2026-09-30",
        "ends_on": "2026-10-29",
        "currency": "GBP",
        "contact_id": str(peter.pk),
        "contract_id": None,
        "proposal_id": None,
    }
    with transaction.atomic():
        # no amount at all
        events.emit(
            Actor.system(), "retainer.period_started", subject_type="t", subject_id="1", **payload
        )
        # an amount, but no signed contract to take the VAT groups from
        events.emit(
            Actor.system(),
            "retainer.period_started",
            subject_type="t",
            subject_id="2",
            **dict(payload, amount="100.00"),
        )
    run_jobs()
    assert not retainer_invoices().exists()


def test_the_vat_groups_are_found_through_the_proposal_too(retainer, peter, run_jobs):
    # a period announced without its contract id: the signed contract is found by proposal
    with transaction.atomic():
        events.emit(
            Actor.system(label="delivery"),
            "retainer.period_started",
            subject_type="delivery.retainerperiod",
            subject_id="x",
            project_id=str(retainer.pk),
            number=7,
            starts_on="2026-07-31",
            ends_on="2026-08-30",
            amount="100.00",
            currency="GBP",
            contact_id=str(peter.pk),
            contract_id=None,
            proposal_id=str(retainer.proposal_id),
        )
    run_jobs()
    invoice = retainer_invoices().get()
    assert invoice.source == f"delivery.retainer:{retainer.pk}:7"
    assert invoice.net_total == Decimal("100.00") and invoice.tax_total == Decimal("20.00")
