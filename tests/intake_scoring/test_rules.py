"""Rules scoring: fit points at capture, intent points from behaviour, decay, tiers, history."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from throughline.core.models import DomainEvent
from throughline.crm import services as crm
from throughline.crm.models import Activity
from throughline.intake.models import Lead
from throughline.intake.scoring import rules
from throughline.intake.scoring.models import ScoreChange, ScoringRule

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def scoring(actor, questions):
    rules.update_config(actor, half_life_days="10", hot_at=50, warm_at=20)
    rules.add_rule(
        actor,
        kind="fit",
        label="Company given",
        field="has_company",
        operator="eq",
        value="yes",
        points=10,
    )
    rules.add_rule(
        actor,
        kind="fit",
        label="Budget at least 10k",
        field="custom.budget",
        operator="gte",
        value="10000",
        points=25,
    )
    rules.add_rule(
        actor,
        kind="fit",
        label="Gmail address",
        field="email_domain",
        operator="eq",
        value="gmail.com",
        points=-5,
    )
    rules.add_rule(actor, kind="intent", label="Replied", signal="reply", points=20)
    rules.add_rule(actor, kind="intent", label="Meeting", signal="meeting", points=30)


def test_fit_points_at_capture_with_one_history_row_per_rule(scoring, capture):
    lead = capture(email="ann@example.com", company="Acme Ltd", custom={"budget": 12000}).lead
    assert lead.score == 35 and lead.tier == "warm"
    history = list(ScoreChange.objects.filter(lead=lead).order_by("pk"))
    assert [(c.reason, c.points, c.score) for c in history] == [
        ("Company given", 10, 10),
        ("Budget at least 10k", 25, 35),
    ]
    event = DomainEvent.objects.get(name="lead.scored", subject_id=str(lead.pk))
    assert event.payload == {"score": 35, "previous": 0, "tier": "warm"}


def test_negative_points_and_cold_tier(scoring, capture):
    lead = capture(email="bob@gmail.com").lead
    assert lead.score == -5 and lead.tier == "cold"


def test_intent_from_a_reply_then_decay_by_half_life(scoring, capture, actor, run_jobs):
    with time_machine.travel(START, tick=False):
        lead = capture(email="cy@example.com", company="Cyclone Ltd").lead
        assert lead.score == 10
        crm.log_activity(
            actor,
            kind=Activity.Kind.EMAIL,
            contact=lead.contact,
            subject="Re: your inquiry",
            direction="in",
            occurred_at=START,
        )
        run_jobs()
        lead.refresh_from_db()
        assert lead.score == 30 and lead.tier == "warm"  # 10 fit + 20 reply
        latest = ScoreChange.objects.filter(lead=lead).first()
        assert (latest.kind, latest.reason, latest.points) == ("intent", "Replied to an e-mail", 20)
        crm.log_activity(
            actor,
            kind=Activity.Kind.MEETING,
            contact=lead.contact,
            subject="Discovery call",
            occurred_at=START,
        )
        run_jobs()
        lead.refresh_from_db()
        assert lead.score == 60 and lead.tier == "hot"
    # One half-life later the 50 intent points are worth 25.
    with time_machine.travel(START + dt.timedelta(days=10), tick=False):
        assert rules.decay_sweep(actor) == 1
        lead.refresh_from_db()
        assert lead.score == 35 and lead.tier == "warm"
        latest = ScoreChange.objects.filter(lead=lead).first()
        assert (latest.kind, latest.points, latest.score) == ("decay", -25, 35)
    # Two more half-lives: 50 / 8 = 6.25 → 16 in all; a second sweep the same day changes nothing.
    with time_machine.travel(START + dt.timedelta(days=30), tick=False):
        rules.decay_sweep(actor)
        assert rules.decay_sweep(actor) == 0
        lead.refresh_from_db()
        assert lead.score == 16 and lead.tier == "cold"


def test_the_same_activity_counts_once(scoring, capture, actor, run_jobs):
    lead = capture(email="dee@example.com").lead
    activity = crm.log_activity(
        actor, kind=Activity.Kind.EMAIL, contact=lead.contact, subject="Hi", direction="in"
    )
    run_jobs()
    assert not rules.record_signal(actor, lead, "reply", ref=f"activity:{activity.pk}")
    lead.refresh_from_db()
    assert lead.score == 20


def test_outbound_email_is_not_intent(scoring, capture, actor, run_jobs):
    lead = capture(email="eve@example.com").lead
    crm.log_activity(
        actor, kind=Activity.Kind.EMAIL, contact=lead.contact, subject="Hi", direction="out"
    )
    run_jobs()
    lead.refresh_from_db()
    assert lead.score == 0


def test_a_second_inquiry_is_intent_for_the_first(actor, capture):
    rules.add_rule(actor, kind="intent", label="Again", signal="repeat_inquiry", points=15)
    first = capture(email="fay@example.com").lead
    capture(email="fay@example.com", message="Any news?")
    first.refresh_from_db()
    assert first.score == 15


def test_breakdown_is_pure(scoring, capture):
    lead = capture(email="gus@example.com", company="Gus Ltd").lead
    before = ScoreChange.objects.count()
    result = rules.breakdown(lead, at=timezone.now() + dt.timedelta(days=99))
    assert result.fit == [("Company given", 10)] and result.score == 10
    assert ScoreChange.objects.count() == before
    assert Lead.objects.get(pk=lead.pk).score == 10


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (
            {
                "kind": "fit",
                "label": "X",
                "points": 5,
                "field": "nope",
                "operator": "eq",
                "value": 1,
            },
            "field",
        ),
        (
            {
                "kind": "fit",
                "label": "X",
                "points": "5.5",
                "field": "source",
                "operator": "eq",
                "value": "a",
            },
            "points",
        ),
        ({"kind": "intent", "label": "X", "points": 5, "signal": "telepathy"}, "signal"),
        ({"kind": "magic", "label": "X", "points": 5}, "kind"),
        (
            {"kind": "fit", "label": "", "points": 5, "field": "source", "operator": "present"},
            "label",
        ),
    ],
)
def test_invalid_rules_are_refused(actor, data, field):
    with pytest.raises(ValidationError) as error:
        rules.add_rule(actor, **data)
    assert field in error.value.message_dict
    assert not ScoringRule.objects.exists()


def test_invalid_config_is_refused(actor):
    with pytest.raises(ValidationError) as error:
        rules.update_config(actor, half_life_days="0", hot_at="x", warm_at=10)
    assert {"half_life_days", "hot_at"} <= set(error.value.message_dict)
    with pytest.raises(ValidationError) as error:
        rules.update_config(actor, half_life_days="5", hot_at=10, warm_at=40)
    assert "warm_at" in error.value.message_dict


def test_a_portal_visit_is_intent(actor, capture, run_jobs):
    from django.db import transaction

    from throughline.core import events

    rules.add_rule(actor, kind="intent", label="Portal", signal="portal_visit", points=12)
    lead = capture(email="hal@example.com").lead
    with transaction.atomic():
        # As billing emits it when the person opens an invoice page (the invoice names the contact).
        events.emit(
            actor,
            "invoice.viewed",
            subject_type="billing.invoice",
            subject_id="00000000-0000-4000-8000-000000000001",
            contact_id=str(lead.contact_id),
        )
    run_jobs()
    lead.refresh_from_db()
    assert lead.score == 12
    assert ScoreChange.objects.filter(lead=lead).first().reason == "Viewed a proposal or document"


def test_changing_the_rules_rescores_open_leads(actor, capture, run_jobs):
    lead = capture(email="ivy@example.com", company="Ivy Ltd").lead
    closed = capture(email="jon@example.com", company="Jon Ltd").lead
    from throughline.intake import services as intake

    intake.reject_lead(actor, closed, reason="spam")
    assert lead.score == 0
    rule = rules.add_rule(
        actor,
        kind="fit",
        label="Company given",
        field="has_company",
        operator="eq",
        value="yes",
        points=10,
    )
    run_jobs()
    lead.refresh_from_db()
    assert lead.score == 10
    change = ScoreChange.objects.filter(lead=lead).first()
    assert (change.kind, change.reason, change.points) == ("rules", "Scoring rules changed", 10)
    assert Lead.objects.get(pk=closed.pk).score == 0  # closed leads keep their last score
    rules.delete_rule(actor, rule)
    run_jobs()
    lead.refresh_from_db()
    assert lead.score == 0
