"""A milestone's instalment is invoiced when delivery says so (billing/handlers_delivery.py).

The project is made the way the product makes it: a proposal accepted through sales' services,
the contract announced signed as signing's sealing does, the project kicked off by delivery's
handler; the milestone then goes through delivery's real services (QA, delivery, acceptance).
"""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from tests.delivery.fixtures import *  # noqa: F403 - the project made as delivery makes it
from throughline.billing.handlers_delivery import issue_milestone_invoice
from throughline.billing.models import BillingSettings, Invoice
from throughline.billing.services import billing_settings
from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import AuditEntry, DomainEvent
from throughline.delivery.services import milestones

pytestmark = pytest.mark.django_db


@pytest.fixture
def billed_project(seller, project):
    """The project of an organization that can issue EN 16931 invoices."""
    return project


def deliver(actor, milestone):
    milestones.start(actor, milestone)
    milestones.submit_for_qa(actor, milestone)
    for item in milestone.qa_items.all():
        milestones.complete_qa_item(actor, item)
    return milestones.deliver(actor, milestone)


def milestone_invoices():
    return Invoice.objects.filter(source__startswith="delivery.milestone:")


def test_an_accepted_milestone_is_invoiced_issued_and_emailed(
    billed_project, delivery_actor, run_jobs, smtp_server
):
    discovery = billed_project.milestones.get(title="Discovery")
    deliver(delivery_actor, discovery)
    run_jobs()
    assert not milestone_invoices().exists()  # default: invoiced on acceptance, not delivery

    milestones.accept(Actor.system(label="Peter"), discovery, by="Peter Gibbons")
    run_jobs()
    invoice = milestone_invoices().get()
    assert invoice.source == f"delivery.milestone:{discovery.pk}"
    assert invoice.status == Invoice.Status.ISSUED and invoice.number
    assert invoice.kind == Invoice.Kind.STANDARD and invoice.contact == billed_project.contact
    # 30% of the accepted 4 × 950.00 at 20% VAT (EN 16931: BT-106 … BT-115)
    [line] = invoice.lines.all()
    assert line.net_amount == Decimal("1140.00") and line.vat_rate == Decimal("20.00")
    assert line.description.startswith("Milestone “Discovery”: 30% of ")
    assert invoice.net_total == Decimal("1140.00")
    assert invoice.tax_total == Decimal("228.00")
    assert invoice.gross_total == invoice.payable_total == Decimal("1368.00")
    assert invoice.tax_breakdown[0]["base"] == "1140.00"
    subjects = [m["message"]["Subject"] for m in smtp_server.messages]
    assert f"Invoice {invoice.number} from Northwind" in subjects
    mail = next(m for m in smtp_server.messages if invoice.number in m["message"]["Subject"])
    assert mail["envelope"].rcpt_tos == ["peter@initech.example"]
    attachments = [part.get_filename() for part in mail["message"].iter_attachments()]
    assert any(name and name.endswith(".pdf") for name in attachments)


def test_the_last_milestone_carries_its_own_instalment(billed_project, delivery_actor, run_jobs):
    go_live = billed_project.milestones.get(title="Go-live")
    deliver(delivery_actor, go_live)
    milestones.accept(Actor.system(label="Peter"), go_live)
    run_jobs()
    invoice = milestone_invoices().get()
    assert invoice.net_total == Decimal("1520.00") and invoice.gross_total == Decimal("1824.00")
    # the deposit (30%) issued on signing is an invoice of its own
    deposit = Invoice.objects.get(kind=Invoice.Kind.DEPOSIT)
    assert deposit.net_total == Decimal("1140.00")
    assert invoice.prepaid_amount == Decimal("0")


def test_redelivered_events_invoice_a_milestone_once(billed_project, delivery_actor, run_jobs):
    discovery = billed_project.milestones.get(title="Discovery")
    deliver(delivery_actor, discovery)
    milestones.accept(Actor.system(label="Peter"), discovery)
    run_jobs()
    accepted = DomainEvent.objects.get(name="milestone.accepted")
    # the same event handled again, and its payload announced a second time
    assert issue_milestone_invoice(accepted) == "milestone invoice already invoiced"
    with transaction.atomic():
        events.emit(
            Actor.system(label="delivery"),
            "milestone.accepted",
            subject_type=accepted.subject_type,
            subject_id=accepted.subject_id,
            **accepted.payload,
        )
    run_jobs()
    assert milestone_invoices().count() == 1


def test_completed_setting_invoices_on_delivery_once(
    billed_project, delivery_actor, actor, run_jobs, smtp_server
):
    billing_settings.set_milestone_trigger(actor, "completed")
    assert AuditEntry.objects.filter(action="billing.settings_changed").exists()
    discovery = billed_project.milestones.get(title="Discovery")
    deliver(delivery_actor, discovery)
    run_jobs()
    invoice = milestone_invoices().get()
    assert invoice.status == Invoice.Status.ISSUED and invoice.net_total == Decimal("1140.00")

    milestones.accept(Actor.system(label="Peter"), discovery)
    run_jobs()
    assert milestone_invoices().count() == 1
    assert sum(invoice.number in m["message"]["Subject"] for m in smtp_server.messages) == 1


def test_an_unknown_setting_is_refused_and_changes_nothing(actor):
    with pytest.raises(ValidationError, match="Choose one of"):
        billing_settings.set_milestone_trigger(actor, "signed")
    assert BillingSettings.current().invoice_milestones_on == "accepted"
    assert not AuditEntry.objects.filter(action="billing.settings_changed").exists()


def test_a_milestone_without_an_amount_is_left_alone(
    billed_project, delivery_actor, run_jobs, caplog
):
    extra = milestones.add_milestone(delivery_actor, billed_project, title="Extra workshop")
    deliver(delivery_actor, extra)
    milestones.accept(Actor.system(label="Peter"), extra)
    with caplog.at_level(logging.INFO, logger="throughline.billing.handlers"):
        run_jobs()
    assert f"milestone {extra.pk} not invoiced" in caplog.text
    assert DomainEvent.objects.get(name="milestone.accepted").payload["amount"] is None
    assert not milestone_invoices().exists()


def test_a_payload_without_accepted_amounts_invoices_nothing(
    billed_project, delivery_actor, run_jobs
):
    discovery = billed_project.milestones.get(title="Discovery")
    deliver(delivery_actor, discovery)
    facts = dict(milestones.facts(discovery), tax_breakdown=[])
    with transaction.atomic():
        events.emit(
            Actor.system(label="delivery"),
            "milestone.accepted",
            subject_type="delivery.milestone",
            subject_id=str(discovery.pk),
            **facts,
        )
    run_jobs()
    assert not milestone_invoices().exists()


def test_the_billing_team_chooses_the_trigger_on_the_settings_page(client_as, billed_project):
    from django.urls import reverse

    billing = client_as("billing")
    page = billing.get(reverse("billing:settings"))
    assert page.status_code == 200 and b"When the client accepts the milestone" in page.content
    response = billing.post(
        reverse("billing:settings_save"), {"invoice_milestones_on": "completed"}
    )
    assert response.status_code == 302
    assert BillingSettings.current().invoice_milestones_on == "completed"
    entry = AuditEntry.objects.get(action="billing.settings_changed")
    assert entry.changes == {"invoice_milestones_on": ["accepted", "completed"]}

    billing.post(reverse("billing:settings_save"), {"invoice_milestones_on": "<b>never</b>"})
    assert BillingSettings.current().invoice_milestones_on == "completed"
    page = billing.get(reverse("billing:settings"))
    assert b"Settings not saved: Choose one of" in page.content


def test_who_may_only_read_billing_cannot_change_the_trigger(client_as, org):
    from django.urls import reverse

    sales = client_as("sales")
    assert sales.get(reverse("billing:settings")).status_code == 200
    response = sales.post(reverse("billing:settings_save"), {"invoice_milestones_on": "completed"})
    assert response.status_code == 403
    assert BillingSettings.current().invoice_milestones_on == "accepted"
