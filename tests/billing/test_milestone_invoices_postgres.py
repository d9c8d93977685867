"""The same milestone event handled by several workers at the same moment (PostgreSQL, real
connections): one invoice, one number, one e-mail; the others find it invoiced."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.delivery.fixtures import *  # noqa: F403 - the project made as delivery makes it
from throughline.billing.handlers_delivery import issue_milestone_invoice
from throughline.billing.models import Invoice
from throughline.core.actor import Actor
from throughline.core.models import DomainEvent
from throughline.delivery.services import milestones

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
RACERS = 4


def test_concurrent_deliveries_of_one_event_invoice_once(
    seller, project, delivery_actor, smtp_server, run_jobs
):
    assert connection.vendor == "postgresql"
    milestone = project.milestones.get(title="Discovery")
    milestones.start(delivery_actor, milestone)
    milestones.submit_for_qa(delivery_actor, milestone)
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(delivery_actor, item)
    milestones.deliver(delivery_actor, milestone)
    milestones.accept(Actor.system(label="Peter"), milestone)
    event = DomainEvent.objects.get(name="milestone.accepted")  # its job is not run: we race
    start = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def racer() -> None:
        try:
            start.wait(timeout=30)
            outcomes.append(issue_milestone_invoice(event))
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    invoice = Invoice.objects.get(source=f"delivery.milestone:{milestone.pk}")
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert sorted(outcomes) == sorted(
        [f"milestone invoice {invoice.number} issued"]
        + ["milestone invoice already invoiced"] * (RACERS - 1)
    ), outcomes
    run_jobs()  # the e-mail's job, and the event's own (which finds the invoice made)
    assert Invoice.objects.filter(source__startswith="delivery.milestone:").count() == 1
    assert sum(invoice.number in m["message"]["Subject"] for m in smtp_server.messages) == 1
