"""Proposals expire on their date; the client is reminded once, a few days before."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from throughline.core import scheduler
from throughline.messaging.models import OutboundMessage
from throughline.sales.models import Proposal
from throughline.sales.services import acceptance
from throughline.sales.services import proposals as proposal_services
from throughline.sales.tasks import proposal_expiry_sweep

pytestmark = pytest.mark.django_db


def reminders():
    return OutboundMessage.objects.filter(
        to_email="peter@initech.example", subject__startswith="Reminder"
    )


def test_the_reminder_goes_once_before_expiry(sent_proposal, smtp_server, run_jobs, users):
    valid_until = sent_proposal.client_version().valid_until
    too_early = timezone.now() + dt.timedelta(
        days=(valid_until - proposal_services.today()).days - 5
    )
    with time_machine.travel(too_early, tick=False):
        assert acceptance.remind_expiring() == 0
    in_window = timezone.now() + dt.timedelta(
        days=(valid_until - proposal_services.today()).days - 2
    )
    with time_machine.travel(in_window, tick=False):
        assert acceptance.remind_expiring() == 1
        assert acceptance.remind_expiring() == 0  # claimed: a retry or second worker sends nothing
        run_jobs()
    assert reminders().count() == 1
    delivered = [
        m["message"] for m in smtp_server.messages if m["message"]["To"] == "peter@initech.example"
    ]
    reminder = next(m for m in delivered if m["Subject"].startswith("Reminder"))
    assert "/c/" in reminder.get_content()  # a fresh link in the reminder
    assert OutboundMessage.objects.filter(
        to_email=users["sales"].email, subject__contains="expires in"
    ).exists()


def test_the_sweep_is_a_periodic_job_that_expires_past_due_proposals(sent_proposal, run_jobs):
    assert "sales.proposal_expiry" in scheduler.registered()
    after = timezone.now() + dt.timedelta(days=40)
    with time_machine.travel(after, tick=False):
        proposal_expiry_sweep.enqueue()
        run_jobs()
    sent_proposal.refresh_from_db()
    assert sent_proposal.status == Proposal.Status.EXPIRED and sent_proposal.expired_at is not None


def test_a_revision_with_a_new_date_brings_an_expired_proposal_back(sales_actor, sent_proposal):
    with time_machine.travel(timezone.now() + dt.timedelta(days=40), tick=False):
        acceptance.expire_due()
        version = proposal_services.revise_proposal(sales_actor, sent_proposal)
        assert version.valid_until > proposal_services.today()
        proposal_services.send_proposal(sales_actor, sent_proposal)
        sent_proposal.refresh_from_db()
        assert sent_proposal.status == "sent"
