"""The learned model: trained on the organization's own closed leads, promoted only if better.

``train_and_evaluate()`` (a daily periodic job, or "Train now" on the settings page):

1. closed leads (``LeadOutcome``: won = converted, lost = rejected or its deal lost), in the
   order they arrived; fewer than ``MIN_OUTCOMES`` → nothing is trained, the rules alone score;
2. time-ordered holdout: train on the oldest 75 %, test on the newest 25 %;
3. a small pipeline — one-hot source / channel / country, has company / website / title,
   message length, budget answer, behaviour counts — into a logistic regression;
4. ROC AUC, Brier score and reliability bins on the holdout, beside the rules score's AUC on
   the same leads; the model is stored (versioned) either way and promoted only if its AUC
   beats the rules'.

The stored bytes carry an HMAC-SHA256 keyed with ``SECRET_KEY``: unpickling runs code, so a
blob whose digest does not match is never loaded (``ModelIntegrityError``) and the rules
score alone applies.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.lookup_cache import cached_config
from throughline.intake.models import Lead
from throughline.intake.scoring.conditions import FIELDS, _number
from throughline.intake.scoring.models import IntentSignal, LeadOutcome, ScoringModel, Signal

logger = logging.getLogger(__name__)

MIN_OUTCOMES = 50
HOLDOUT = 0.25
BUDGET_KEYS = ("budget", "budget_range", "estimated_budget")


class ModelIntegrityError(Exception):
    """The stored model's bytes do not match their digest: refuse to unpickle them."""


# --- Features --------------------------------------------------------------------------------


def features(lead: Lead, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """One lead as a feature dict (strings are one-hot encoded by the vectorizer)."""
    custom = lead.custom or {}
    budget = next((_number(custom[k]) for k in BUDGET_KEYS if k in custom), None)
    row: dict[str, Any] = {
        "source": lead.source.slug,
        "channel": lead.channel,
        "country": FIELDS["country"].get(lead) or "unknown",
        "has_company": float(bool(lead.company_id or lead.company_name)),
        "has_website": float(bool(lead.website)),
        "has_title": float(bool(lead.title)),
        "message_length": math.log1p(len(lead.message or "")),
        "budget": math.log1p(float(budget)) if budget is not None and budget > 0 else 0.0,
    }
    for signal in Signal.values:
        row[f"signal_{signal}"] = float((counts or {}).get(signal, 0))
    return row


FEATURE_WORDS = {
    "has_company": "a company was given",
    "has_website": "a website was given",
    "has_title": "a job title was given",
    "message_length": "the length of the message",
    "budget": "the budget answer",
}


def feature_words(name: str) -> str:
    if "=" in name:
        key, _, value = name.partition("=")
        return f"{key} is {value}"
    if name.startswith("signal_"):
        signal = name.removeprefix("signal_")
        label = Signal(signal).label if signal in Signal.values else signal
        return f"“{label.lower()}”"
    return FEATURE_WORDS.get(name, name.replace("_", " "))


def _signal_counts(lead_ids: list) -> dict[Any, dict[str, int]]:
    counts: dict[Any, dict[str, int]] = {}
    rows = (
        IntentSignal.objects.filter(lead_id__in=lead_ids)
        .values("lead_id", "signal")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        counts.setdefault(row["lead_id"], {})[row["signal"]] = row["n"]
    return counts


# --- Training --------------------------------------------------------------------------------


@dataclass
class TrainingResult:
    trained: bool
    promoted: bool = False
    model: ScoringModel | None = None
    reason: str = ""


def _digest(blob: bytes) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), blob, hashlib.sha256).hexdigest()


def _auc(y: list[int], scores: list[float]) -> float:
    from sklearn.metrics import roc_auc_score

    if len(set(scores)) < 2:
        return 0.5  # a constant score ranks nothing
    return float(roc_auc_score(y, scores))


def history() -> list[tuple[Lead, int]]:
    outcomes = LeadOutcome.objects.select_related("lead", "lead__source").order_by(
        "lead__received_at", "lead__pk"
    )
    return [(o.lead, 1 if o.result == LeadOutcome.Result.WON else 0) for o in outcomes]


def train_and_evaluate(actor: Actor) -> TrainingResult:
    """Train, evaluate on the newest quarter, store a new version, promote it if better."""
    import joblib
    import numpy as np
    from sklearn.calibration import calibration_curve
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    rows = history()
    if len(rows) < MIN_OUTCOMES:
        return TrainingResult(
            False, reason=f"{len(rows)} closed leads; {MIN_OUTCOMES} needed: rules only."
        )
    counts = _signal_counts([lead.pk for lead, _ in rows])
    x = [features(lead, counts.get(lead.pk)) for lead, _ in rows]
    y = [label for _, label in rows]
    rules = [lead.score for lead, _ in rows]
    cut = int(len(rows) * (1 - HOLDOUT))
    x_train, x_test, y_train, y_test = x[:cut], x[cut:], y[:cut], y[cut:]
    if len(set(y_train)) < 2 or len(set(y_test)) < 2:
        return TrainingResult(False, reason="Both won and lost leads are needed in each part.")
    pipeline = Pipeline(
        [
            ("onehot", DictVectorizer(sparse=False)),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=1000, C=1.0)),
        ]
    )
    pipeline.fit(x_train, y_train)
    probabilities = pipeline.predict_proba(x_test)[:, 1]
    model_auc = _auc(y_test, list(probabilities))
    rules_auc = _auc(y_test, [float(s) for s in rules[cut:]])
    true, predicted = calibration_curve(y_test, probabilities, n_bins=5, strategy="uniform")
    metrics = {
        "n_train": len(y_train),
        "n_test": len(y_test),
        "won_share": round(float(np.mean(y)), 3),
        "auc": round(model_auc, 4),
        "rules_auc": round(rules_auc, 4),
        "brier": round(float(brier_score_loss(y_test, probabilities)), 4),
        "reliability": [
            {"predicted": round(float(p), 3), "observed": round(float(t), 3)}
            for p, t in zip(predicted, true, strict=True)
        ],
        "features": list(pipeline.named_steps["onehot"].get_feature_names_out()),
    }
    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    blob = buffer.getvalue()
    promote = model_auc > rules_auc
    with transaction.atomic():
        version = (ScoringModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        if promote:
            ScoringModel.objects.filter(is_current=True).update(is_current=False)
        model = ScoringModel.objects.create(
            version=version,
            blob=blob,
            digest=_digest(blob),
            metrics=metrics,
            promoted=promote,
            is_current=promote,
            note=(
                f"Promoted: AUC {model_auc:.3f} beats the rules' {rules_auc:.3f}."
                if promote
                else f"Kept out: AUC {model_auc:.3f} does not beat the rules' {rules_auc:.3f}."
            ),
        )
        audit_log.record(
            actor,
            "scoring_model.trained",
            model,
            changes={
                "auc": [None, metrics["auc"]],
                "rules_auc": [None, metrics["rules_auc"]],
                "promoted": [None, promote],
            },
        )
    if promote:
        _cache.clear()
        refresh_open_leads()
    return TrainingResult(True, promote, model, model.note)


# --- Using the current model -----------------------------------------------------------------

_cache: dict[str, Any] = {}


def load(model: ScoringModel):
    """The fitted pipeline of ``model`` after checking its digest (cached per digest)."""
    import joblib

    blob = bytes(model.blob)
    if not hmac.compare_digest(_digest(blob), model.digest):
        raise ModelIntegrityError(f"Model v{model.version}: stored bytes do not match the digest")
    if model.digest not in _cache:
        _cache.clear()
        _cache[model.digest] = joblib.load(io.BytesIO(blob))
    return _cache[model.digest]


def current_pipeline():
    """The promoted model's pipeline, or None (rules only). Its bytes are read from the
    database only when this process has not loaded that version yet."""
    current = cached_config(
        "intake.scoring_model",
        lambda: ScoringModel.objects.filter(is_current=True).values("pk", "digest").first(),
    )
    if current is None:
        return None
    if current["digest"] in _cache:
        return _cache[current["digest"]]
    model = ScoringModel.objects.get(pk=current["pk"])
    try:
        return load(model)
    except ModelIntegrityError:
        logger.error("Scoring model v%s failed its integrity check; rules only", model.version)
        return None


@dataclass
class Prediction:
    probability: float
    factors: list[str]


def predict(lead: Lead, pipeline=None, top: int = 3) -> Prediction | None:
    """Conversion probability and the factors that moved it most, in plain words."""
    pipeline = pipeline if pipeline is not None else current_pipeline()
    if pipeline is None:
        return None
    counts = _signal_counts([lead.pk]).get(lead.pk) if lead.pk else None
    row = features(lead, counts)
    probability = float(pipeline.predict_proba([row])[0, 1])
    vectorizer = pipeline.named_steps["onehot"]
    scaled = pipeline.named_steps["scale"].transform(vectorizer.transform([row]))[0]
    coefficients = pipeline.named_steps["model"].coef_[0]
    names = vectorizer.get_feature_names_out()
    contributions = sorted(
        ((float(c * v), str(n)) for c, v, n in zip(coefficients, scaled, names, strict=True)),
        key=lambda item: -abs(item[0]),
    )
    factors = [
        f"{feature_words(name).capitalize()} {'raises' if value > 0 else 'lowers'} the chance"
        f" ({value:+.2f})"
        for value, name in contributions[:top]
        if abs(value) >= 0.01
    ]
    return Prediction(probability, factors)


def refresh_open_leads() -> int:
    """Store the current model's probability on every open lead."""
    pipeline = current_pipeline()
    leads = Lead.objects.filter(status__in=Lead.OPEN_STATUSES).select_related("source")
    if pipeline is None:
        return leads.exclude(conversion_probability=None).update(conversion_probability=None)
    changed = 0
    for lead in leads.iterator(chunk_size=500):
        prediction = predict(lead, pipeline)
        Lead.objects.filter(pk=lead.pk).update(
            conversion_probability=prediction.probability if prediction else None
        )
        changed += 1
    return changed


def closed_outcomes() -> dict[str, int]:
    return LeadOutcome.objects.aggregate(
        won=Count("pk", filter=Q(result="won")), lost=Count("pk", filter=Q(result="lost"))
    )
