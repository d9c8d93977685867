"""Simultaneous conversions (and decisions) of one lead give one deal (PostgreSQL).

Real threads with their own connections, released together: the lead row is locked first
(``select_for_update``), so the second conversion sees "already converted"."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from tests.intake.test_concurrency_postgres import run_together
from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.intake.capture import LeadInput, capture_lead
from throughline.intake.models import Lead
from throughline.intake.scoring import qualification
from throughline.sales.models import Deal
from throughline.sales.services.lead_conversion import convert_lead

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_simultaneous_conversions_make_one_deal(owner):
    assert connection.vendor == "postgresql"
    actor = Actor(user=owner, channel=Channel.UI)
    lead = capture_lead(actor, LeadInput(email="race@example.com", channel="api")).lead

    results = run_together([lambda: convert_lead(actor, lead) for _ in range(8)])

    deals = [r for r in results if isinstance(r, Deal)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(deals) == 1 and len(refused) == 7, results
    assert all("already converted" in str(r) for r in refused)
    assert Deal.objects.filter(lead_id=lead.pk).count() == 1
    assert DomainEvent.objects.filter(name="lead.converted").count() == 1
    assert Lead.objects.get(pk=lead.pk).converted_deal_id == deals[0].pk


def test_simultaneous_accept_decisions_send_one_invitation(owner):
    actor = Actor(user=owner, channel=Channel.UI)
    lead = capture_lead(actor, LeadInput(email="twice@example.com", channel="api")).lead

    results = run_together([lambda: qualification.decide(actor, lead, "accept") for _ in range(4)])

    assert sum(isinstance(r, Lead) for r in results) == 1, results
    assert DomainEvent.objects.filter(name="lead.qualified").count() == 1
