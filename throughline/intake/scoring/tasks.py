"""Periodic scoring work: decay of intent points, and training the learned model."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from throughline.core.actor import Actor
from throughline.core.jobs import job
from throughline.core.lookup_cache import batch_cache
from throughline.core.scheduler import periodic
from throughline.intake.scoring import learned, rules


@periodic("intake_scoring.decay", every=dt.timedelta(hours=6))
@job(max_attempts=3)
def decay_scores() -> str:
    changed = rules.decay_sweep(Actor.system(label="score decay"))
    return f"{changed} scores decayed"


@periodic("intake_scoring.train", every=dt.timedelta(days=1))
@job(max_attempts=2)
def train_scoring_model() -> str:
    result = learned.train_and_evaluate(Actor.system(label="scoring model training"))
    return result.reason or ("promoted" if result.promoted else "trained")


@job(max_attempts=3)
def rescore_leads() -> str:
    """After the rules or tiers changed (enqueued by ``rules``): every open lead again."""
    changed = rules.rescore_open_leads(Actor.system(label="scoring rules changed"))
    return f"{changed} scores changed"


@job(max_attempts=5)
def score_imported_leads(lead_ids: list[str]) -> str:
    """What ``capture_lead`` does at once, for a batch from ``bulk_capture`` (imports).

    Idempotent: a lead already scored or qualified (a retried job) is left as it is.
    """
    actor = Actor.system(label="import scoring")
    with batch_cache():  # the rules, model and rubric: read once for the batch
        done = sum(_score_imported(actor, lead_id) for lead_id in lead_ids)
    return f"{done} leads scored"


def _score_imported(actor: Actor, lead_id: str) -> bool:
    from throughline.intake.models import Lead
    from throughline.intake.scoring.at_capture import score_and_qualify
    from throughline.intake.scoring.models import ScoreChange

    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id).first()
        if lead is None or lead.tier or lead.qualification:
            return False
        if ScoreChange.objects.filter(lead=lead).exists():
            return False
        score_and_qualify(actor, lead)
        return True
