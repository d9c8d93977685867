"""Deals through the pipeline: stages, events, won/lost with a required reason, stalled deals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from throughline.core.models import AuditEntry, DomainEvent
from throughline.sales.models import (
    Deal,
    DealStageChange,
    LostReason,
    Pipeline,
    Stage,
    stalled_condition,
)
from throughline.sales.services import pipeline as services

pytestmark = pytest.mark.django_db


def stage(name: str) -> Stage:
    return Stage.objects.get(pipeline__is_default=True, name=name)


def test_the_default_pipeline_has_ordered_stages_with_probabilities(org):
    pipeline = Pipeline.objects.get(is_default=True)
    stages = list(pipeline.stages.order_by("position"))
    assert [s.name for s in stages] == ["New", "Qualified", "Proposal sent", "Negotiation"]
    assert [s.probability for s in stages] == [10, 25, 50, 75]
    assert LostReason.objects.filter(active=True).count() >= 5


def test_a_new_deal_starts_in_the_first_stage_owned_by_its_creator(deal, users):
    assert deal.stage.name == "New"
    assert deal.status == "open"
    assert deal.owner == users["sales"]
    assert deal.value == Decimal("12000.00")
    assert deal.company.name == "Initech"  # taken from the contact: nothing typed again
    assert AuditEntry.objects.filter(action="deal.created", object_id=str(deal.pk)).exists()


def test_moving_a_deal_emits_stage_changed_and_keeps_history(deal, sales_actor):
    services.move_deal(sales_actor, deal, stage("Qualified"))
    event = DomainEvent.objects.get(name="deal.stage_changed")
    assert event.subject_id == str(deal.pk)
    assert event.payload["from_stage_name"] == "New"
    assert event.payload["to_stage_name"] == "Qualified"
    assert event.payload["probability"] == 25
    change = DealStageChange.objects.filter(deal=deal).first()
    assert (change.from_name, change.to_name) == ("New", "Qualified")


def test_a_stage_of_another_pipeline_is_refused(deal, actor):
    other = services.create_pipeline(actor, name="Partners", stages=[{"name": "Intro"}])
    with pytest.raises(ValidationError):
        services.move_deal(actor, deal, other.stages.get())


def test_winning_emits_deal_won(deal, sales_actor):
    services.win_deal(sales_actor, deal)
    deal.refresh_from_db()
    assert deal.status == "won" and deal.closed_at is not None and deal.probability == 100
    event = DomainEvent.objects.get(name="deal.won")
    assert event.payload == {"value": "12000.00", "currency": "GBP", "stage": "New"}


def test_losing_needs_a_reason_from_the_managed_list(deal, sales_actor):
    with pytest.raises(ValidationError) as exc:
        services.lose_deal(sales_actor, deal, "")
    assert "reason" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.lose_deal(sales_actor, deal, "Because I said so")
    services.lose_deal(sales_actor, deal, "price", note="Went with a cheaper offer")
    deal.refresh_from_db()
    assert deal.status == "lost"
    assert deal.lost_reason.name == "Price"
    event = DomainEvent.objects.get(name="deal.lost")
    assert event.payload["reason"] == "Price"


def test_an_inactive_reason_cannot_be_chosen(deal, sales_actor):
    LostReason.objects.filter(name="Timing").update(active=False)
    with pytest.raises(ValidationError):
        services.lose_deal(sales_actor, deal, "Timing")


def test_closed_deals_do_not_move_until_reopened(deal, sales_actor):
    services.win_deal(sales_actor, deal)
    with pytest.raises(ValidationError):
        services.move_deal(sales_actor, deal, stage("Qualified"))
    services.reopen_deal(sales_actor, deal)
    services.move_deal(sales_actor, deal, stage("Qualified"))
    assert Deal.objects.get(pk=deal.pk).stage.name == "Qualified"


def test_deals_idle_longer_than_their_stage_limit_are_stalled(deal, sales_actor):
    # "New" flags deals idle for 7 days.
    assert not deal.is_stalled
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        deal.refresh_from_db()
        assert deal.is_stalled
        assert list(Deal.objects.filter(stalled_condition(Stage.objects.all()))) == [deal]
        services.move_deal(sales_actor, deal, stage("Qualified"))  # activity resets the clock
        deal.refresh_from_db()
        assert not deal.is_stalled


def test_values_are_decimal_and_rounded_to_the_currency(sales_actor, client_contact):
    deal = services.create_deal(
        sales_actor, title="Yen deal", contact=client_contact, value="1234.5", currency="JPY"
    )
    assert deal.value == Decimal("1235")
    with pytest.raises(ValidationError):
        services.create_deal(sales_actor, title="Bad", value="-1", currency="EUR")
    with pytest.raises(ValidationError):
        services.create_deal(sales_actor, title="Bad", value="10", currency="ZZZ")


def test_board_move_by_keyboard_form_and_by_htmx(client_as, deal):
    client = client_as("sales")
    board = client.get(reverse("sales:deal_board"))
    assert board.status_code == 200
    body = board.content.decode()
    assert "Initech analytics rollout" in body
    assert f'id="move-{deal.pk}"' in body  # the stage menu: the keyboard path
    target = stage("Proposal sent")

    # Without JavaScript: a plain POST and a redirect back.
    response = client.post(
        reverse("sales:deal_move", args=[deal.pk]), {"stage": target.pk, "next": "/sales/deals/"}
    )
    assert response.status_code == 302 and response["Location"] == "/sales/deals/"
    assert Deal.objects.get(pk=deal.pk).stage == target

    # With htmx (the card's form, also what a drop submits): the board comes back.
    response = client.post(
        reverse("sales:deal_move", args=[deal.pk]),
        {"stage": stage("Negotiation").pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="board",
    )
    assert response.status_code == 200
    assert 'id="board"' in response.content.decode()
    assert "moved to Negotiation" in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage.name == "Negotiation"


def test_viewers_see_the_board_but_cannot_move(client_as, deal):
    client = client_as("viewer")
    assert client.get(reverse("sales:deal_board")).status_code == 200
    response = client.post(reverse("sales:deal_move", args=[deal.pk]), {"stage": deal.stage.pk})
    assert response.status_code == 403


def test_sales_see_only_their_own_deals_when_the_organization_says_so(client_as, deal, actor, org):
    other = services.create_deal(actor, title="Owner's private deal", currency="GBP")
    org.sales_own_records_only = True
    org.save()
    client = client_as("sales")
    assert client.get(reverse("sales:deal_detail", args=[deal.pk])).status_code == 200
    assert client.get(reverse("sales:deal_detail", args=[other.pk])).status_code == 404
    listing = client.get(reverse("sales:deal_list")).content.decode()
    assert "Initech analytics rollout" in listing and "Owner&#x27;s private deal" not in listing


def test_lose_page_requires_a_reason(client_as, deal):
    client = client_as("sales")
    response = client.post(reverse("sales:deal_lose", args=[deal.pk]), {"reason": ""})
    assert response.status_code == 200
    assert Deal.objects.get(pk=deal.pk).status == "open"
    reason = LostReason.objects.get(name="Timing")
    response = client.post(reverse("sales:deal_lose", args=[deal.pk]), {"reason": reason.pk})
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).lost_reason == reason


def test_lead_conversion_event_creates_the_deal_once(client_contact, run_jobs, users):
    import uuid

    from django.db import transaction

    from throughline.core import events
    from throughline.core.actor import Actor

    lead_id, deal_id = uuid.uuid4(), uuid.uuid4()
    qualified = timezone.now() - dt.timedelta(hours=5)
    with transaction.atomic():
        event = events.emit(
            Actor.system(),
            "lead.converted",
            subject_type="intake.lead",
            subject_id=str(lead_id),
            deal_id=str(deal_id),
            contact_id=str(client_contact.pk),
            value="5000",
            currency="GBP",
            qualified_at=qualified.isoformat(),
            source="web form",
        )
    run_jobs()
    deal = Deal.objects.get(lead_id=lead_id)
    assert deal.pk == deal_id
    assert deal.contact == client_contact and deal.company == client_contact.company
    assert deal.owner == users["sales"]
    assert deal.qualified_at == qualified
    from throughline.sales.handlers import deal_from_converted_lead

    assert deal_from_converted_lead(event) == deal  # replayed: the same deal, not a second
    assert Deal.objects.filter(lead_id=lead_id).count() == 1
