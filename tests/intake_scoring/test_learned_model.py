"""The learned model: trained on a seeded history with a known signal, promoted only when it
beats the rules on the time-ordered holdout; thin history → rules only; integrity check."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from throughline.core.actor import Actor
from throughline.intake import services as intake
from throughline.intake.models import Lead
from throughline.intake.scoring import learned, rules
from throughline.intake.scoring.models import LeadOutcome, ScoringModel
from throughline.sales.services.lead_conversion import convert_lead

SOURCES = ("partner", "ads", "website")
# The known signal: partner referrals with a long message convert; ads rarely do.
WIN_RATE = {"partner": 0.8, "ads": 0.1, "website": 0.35}


@pytest.fixture
def history(actor, capture, run_jobs):
    """``history(n)``: n closed leads, one a day, won or lost by the known signal."""

    def make(n: int, seed: int = 7) -> list[Lead]:
        rng = random.Random(seed)
        # The rules score carries no signal: points for "a company was given", set at random.
        rules.add_rule(
            actor,
            kind="fit",
            label="Company",
            field="has_company",
            operator="eq",
            value="yes",
            points=10,
        )
        start = timezone.now() - dt.timedelta(days=n + 5)
        leads = []
        for i in range(n):
            source = SOURCES[i % 3]
            long_message = rng.random() < 0.5
            chance = WIN_RATE[source] + (0.1 if long_message else -0.05)
            lead = capture(
                email=f"person{i}@example.com",
                first_name=f"P{i}",
                company=f"Company {i}" if rng.random() < 0.5 else "",
                message="We need a new website. " * (20 if long_message else 1),
                source=source,
                received_at=start + dt.timedelta(days=i),
                acknowledge=False,
                create_task=False,
            ).lead
            if rng.random() < chance:
                convert_lead(actor, lead, value="1000")
            else:
                intake.reject_lead(actor, lead, reason="not_a_fit")
            leads.append(lead)
        run_jobs()
        return leads

    return make


def test_the_model_beats_the_rules_and_is_promoted(history, actor, capture, client_as):
    history(160)
    assert LeadOutcome.objects.count() == 160
    result = learned.train_and_evaluate(actor)
    assert result.trained and result.promoted, result.reason
    model = ScoringModel.objects.get(is_current=True)
    metrics = model.metrics
    assert metrics["n_train"] == 120 and metrics["n_test"] == 40  # oldest 75 % / newest 25 %
    assert metrics["auc"] > metrics["rules_auc"]
    assert metrics["auc"] >= 0.7
    assert 0 <= metrics["brier"] < 0.25
    assert metrics["reliability"] and all(
        0 <= b["predicted"] <= 1 and 0 <= b["observed"] <= 1 for b in metrics["reliability"]
    )
    assert model.version == 1 and "Promoted" in model.note

    # New leads get a probability and the factors behind it, in plain words.
    partner = capture(
        email="new1@example.com", source="partner", message="We need a new website. " * 20
    ).lead
    ads = capture(email="new2@example.com", source="ads", message="hi").lead
    assert partner.conversion_probability > 0.5 > ads.conversion_probability
    prediction = learned.predict(partner)
    assert any("source is partner raises the chance" in f.lower() for f in prediction.factors)

    # The settings page shows the model in use and its evaluation; the lead page the chance.
    client = client_as("owner")
    settings_page = client.get("/leads/scoring/").content.decode()
    assert "In use: model v1" in settings_page and f"ROC AUC {metrics['auc']}" in settings_page
    lead_page = client.get(f"/leads/{partner.pk}/").content.decode()
    assert "Conversion chance" in lead_page and "Source is partner raises the chance" in lead_page


def test_a_model_that_does_not_beat_the_rules_is_kept_out(history, actor):
    history(80)
    # Make the rules perfect on this history: they now know the outcome.
    for outcome in LeadOutcome.objects.select_related("lead"):
        Lead.objects.filter(pk=outcome.lead_id).update(score=100 if outcome.result == "won" else 0)
    result = learned.train_and_evaluate(actor)
    assert result.trained and not result.promoted
    model = ScoringModel.objects.get()
    assert not model.is_current and "Kept out" in model.note
    assert learned.current_pipeline() is None


def test_thin_history_means_rules_only(history, actor, capture):
    history(30)
    result = learned.train_and_evaluate(actor)
    assert not result.trained and "30 closed leads; 50 needed" in result.reason
    assert not ScoringModel.objects.exists()
    lead = capture(email="later@example.com", source="partner").lead
    assert lead.conversion_probability is None
    assert learned.predict(lead) is None


def test_a_tampered_model_is_never_loaded(history, actor, capture):
    history(120)
    assert learned.train_and_evaluate(actor).promoted
    model = ScoringModel.objects.get(is_current=True)
    blob = bytearray(bytes(model.blob))
    blob[-10] ^= 0xFF
    ScoringModel.objects.filter(pk=model.pk).update(blob=bytes(blob))
    learned._cache.clear()
    with pytest.raises(learned.ModelIntegrityError):
        learned.load(ScoringModel.objects.get(pk=model.pk))
    # Capture goes on with the rules alone.
    lead = capture(email="safe@example.com", source="partner").lead
    assert lead.conversion_probability is None and lead.tier


def test_the_periodic_job_trains(history, run_jobs):
    from throughline.intake.scoring.tasks import train_scoring_model

    history(100)
    train_scoring_model.enqueue()
    run_jobs()
    assert ScoringModel.objects.filter(version=1).exists()


def test_a_lost_deal_turns_a_won_outcome_into_lost(actor, capture, run_jobs):
    from throughline.sales.models import LostReason
    from throughline.sales.services.pipeline import lose_deal

    lead = capture(email="deal@example.com").lead
    deal = convert_lead(actor, lead)
    run_jobs()
    assert LeadOutcome.objects.get(lead=lead).result == "won"
    reason = LostReason.objects.first()
    lose_deal(Actor.system(), deal, reason.pk if reason else "price")
    run_jobs()
    assert LeadOutcome.objects.get(lead=lead).result == "lost"
