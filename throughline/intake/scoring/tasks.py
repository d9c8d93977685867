"""Periodic scoring work: decay of intent points, and training the learned model."""

from __future__ import annotations

import datetime as dt

from throughline.core.actor import Actor
from throughline.core.jobs import job
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
