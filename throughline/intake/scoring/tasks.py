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

    One transaction for the batch, its leads locked and checked with one query each.
    Idempotent: a lead already scored or qualified (a retried job) is left as it is.
    """
    from throughline.intake.models import Lead
    from throughline.intake.scoring.at_capture import score_and_qualify
    from throughline.intake.scoring.models import ScoreChange

    actor = Actor.system(label="import scoring")
    done = 0
    # The rules, the model and the rubric are read once for the batch.
    with batch_cache(), transaction.atomic():
        leads = list(Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk"))
        scored = set(
            ScoreChange.objects.filter(lead__in=leads).values_list("lead_id", flat=True).distinct()
        )
        for lead in leads:
            if lead.tier or lead.qualification or lead.pk in scored:
                continue
            score_and_qualify(actor, lead)
            done += 1
    return f"{done} leads scored"
