"""Rules scoring: fit points from attributes, intent points from behaviour, decay, tiers.

score = Σ points of the fit rules the lead matches
      + Σ over its intent signals: points of the signal's rule × 0.5 ** (age in days / half-life)

rounded to a whole number. Every change of the score is a ``ScoreChange`` row with its reason
and emits ``lead.scored``; the tier (hot / warm / cold) follows the configured thresholds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.lookup_cache import cached_config
from throughline.intake.models import Lead
from throughline.intake.scoring import conditions
from throughline.intake.scoring.models import (
    IntentSignal,
    ScoreChange,
    ScoringConfig,
    ScoringRule,
    Signal,
)

HOT, WARM, COLD = "hot", "warm", "cold"


@dataclass
class Breakdown:
    fit: list[tuple[str, int]] = field(default_factory=list)
    intent: list[tuple[str, float]] = field(default_factory=list)
    score: int = 0


def tier_for(score: int, config: ScoringConfig | None = None) -> str:
    config = config or ScoringConfig.current()
    if score >= config.hot_at:
        return HOT
    if score >= config.warm_at:
        return WARM
    return COLD


def decayed(points: int, age: dt.timedelta, half_life_days: float) -> float:
    days = max(age.total_seconds(), 0) / 86400
    return points * 0.5 ** (days / half_life_days) if half_life_days > 0 else float(points)


def breakdown(
    lead: Lead,
    *,
    at: dt.datetime | None = None,
    rules: list[ScoringRule] | None = None,
    config: ScoringConfig | None = None,
) -> Breakdown:
    """What the rules say about ``lead`` at ``at`` (nothing is written)."""
    at = at or timezone.now()
    config = config or ScoringConfig.current()
    rules = rules if rules is not None else active_rules()
    result = Breakdown()
    for rule in rules:
        if rule.kind == ScoringRule.Kind.FIT and conditions.matches(
            lead, rule.field, rule.operator, rule.value
        ):
            result.fit.append((rule.label, rule.points))
    intent_rules = {r.signal: r for r in rules if r.kind == ScoringRule.Kind.INTENT}
    if intent_rules and lead.pk:
        half_life = float(config.half_life_days)
        for signal in IntentSignal.objects.filter(lead=lead, occurred_at__lte=at):
            rule = intent_rules.get(signal.signal)
            if rule is not None:
                value = decayed(rule.points, at - signal.occurred_at, half_life)
                result.intent.append((rule.label, value))
    total = sum(p for _, p in result.fit) + sum(p for _, p in result.intent)
    result.score = round(total)
    return result


def active_rules() -> list[ScoringRule]:
    """The active rules; read once per capture (``lookup_cache``), not per lead it rescores."""
    return cached_config(
        "intake.scoring_rules", lambda: list(ScoringRule.objects.filter(is_active=True))
    )


def _save(actor: Actor, lead: Lead, score: int, config: ScoringConfig, cause=None) -> None:
    previous = lead.score
    lead.score = score
    lead.tier = tier_for(score, config)
    Lead.objects.filter(pk=lead.pk).update(score=lead.score, tier=lead.tier)
    events.emit(
        actor,
        "lead.scored",
        lead,
        cause=cause,
        score=score,
        previous=previous,
        tier=lead.tier,
    )


def score_new_lead(actor: Actor, lead: Lead) -> int:
    """At capture: one history row per fit rule met (inside the capture transaction).

    Without any rule nothing is written: the lead stays unscored (no tier), and capture pays
    one query for finding that out.
    """
    active = active_rules()
    if not active:
        return 0
    config = cached_config("intake.scoring_config", ScoringConfig.current)
    result = breakdown(lead, config=config, rules=active)
    now = timezone.now()
    running = 0
    rows = []
    for label, points in result.fit:
        running += points
        rows.append(
            ScoreChange(
                lead=lead,
                at=now,
                kind=ScoreChange.Kind.FIT,
                points=points,
                score=running,
                reason=label[:300],
            )
        )
    ScoreChange.objects.bulk_create(rows)
    if rows or result.score:
        _save(actor, lead, result.score, config)
    else:
        # No rule applies: the tier is set, and no event says "scored 0" for every capture.
        lead.tier = tier_for(0, config)
        Lead.objects.filter(pk=lead.pk).update(tier=lead.tier)
    return result.score


def rescore(
    actor: Actor, lead: Lead, *, kind: str, reason: str, at: dt.datetime | None = None, cause=None
) -> int:
    """Recompute; a different score is saved with one history row (caller's transaction)."""
    config = ScoringConfig.current()
    score = breakdown(lead, at=at, config=config).score
    if score == lead.score and lead.tier == tier_for(score, config):
        return score
    ScoreChange.objects.create(
        lead=lead,
        at=at or timezone.now(),
        kind=kind,
        points=score - lead.score,
        score=score,
        reason=reason[:300],
    )
    _save(actor, lead, score, config, cause)
    return score


@transaction.atomic
def record_signal(
    actor: Actor, lead: Lead, signal: str, *, ref: str, at: dt.datetime | None = None, cause=None
) -> bool:
    """Behaviour that earns intent points (once per ``ref``); False when already recorded."""
    if signal not in Signal.values:
        raise ValueError(f"Unknown signal {signal!r}")
    at = at or timezone.now()
    try:
        with transaction.atomic():
            IntentSignal.objects.create(lead=lead, signal=signal, occurred_at=at, ref=ref[:80])
    except IntegrityError:
        return False
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead.pk)
    rescore(actor, lead, kind=ScoreChange.Kind.INTENT, reason=Signal(signal).label, cause=cause)
    return True


def decay_sweep(actor: Actor, at: dt.datetime | None = None) -> int:
    """Recompute open leads with intent points; returns how many scores changed."""
    at = at or timezone.now()
    lead_ids = (
        IntentSignal.objects.filter(lead__status__in=Lead.OPEN_STATUSES)
        .values_list("lead_id", flat=True)
        .distinct()
    )
    changed = 0
    for lead_id in list(lead_ids):
        with transaction.atomic():
            lead = Lead.objects.select_for_update(of=("self",)).get(pk=lead_id)
            before = lead.score
            rescore(
                actor, lead, kind=ScoreChange.Kind.DECAY, reason="Older activity counts less", at=at
            )
            changed += lead.score != before
    return changed


def rescore_open_leads(actor: Actor, *, reason: str = "Scoring rules changed") -> int:
    """Recompute every open lead (after the rules or thresholds changed); returns changes."""
    changed = 0
    for lead_id in list(
        Lead.objects.filter(status__in=Lead.OPEN_STATUSES).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            lead = (
                Lead.objects.select_for_update(of=("self",))
                .select_related("source")
                .get(pk=lead_id)
            )
            before = (lead.score, lead.tier)
            rescore(actor, lead, kind=ScoreChange.Kind.RULES, reason=reason)
            changed += (lead.score, lead.tier) != before
    return changed


def _rescore_later() -> None:
    from throughline.intake.scoring.tasks import rescore_leads

    rescore_leads.enqueue()


# --- Configuration ---------------------------------------------------------------------------


@transaction.atomic
def update_config(actor: Actor, *, half_life_days: Any, hot_at: Any, warm_at: Any) -> ScoringConfig:
    errors: dict[str, str] = {}
    half = conditions._number(half_life_days)
    if half is None or half <= 0 or half > 3650:
        errors["half_life_days"] = "Give a number of days between 0.1 and 3650."
    numbers = {}
    for key, value in (("hot_at", hot_at), ("warm_at", warm_at)):
        number = conditions._number(value)
        if number is None or number != number.to_integral_value():
            errors[key] = f"“{value}” is not a whole number."
        else:
            numbers[key] = int(number)
    if len(numbers) == 2 and numbers["warm_at"] > numbers["hot_at"]:
        errors["warm_at"] = "The warm threshold must not be above the hot threshold."
    if errors:
        raise ValidationError(errors)
    config = ScoringConfig.objects.select_for_update().get(pk=ScoringConfig.current().pk)
    before = [str(config.half_life_days), config.hot_at, config.warm_at]
    config.half_life_days = half.quantize(conditions.Decimal("0.1"))
    config.hot_at, config.warm_at = numbers["hot_at"], numbers["warm_at"]
    config.save()
    audit_log.record(
        actor,
        "scoring_config.updated",
        config,
        changes={
            "half_life_days": [before[0], str(config.half_life_days)],
            "hot_at": [before[1], config.hot_at],
            "warm_at": [before[2], config.warm_at],
        },
    )
    _rescore_later()
    return config


@transaction.atomic
def add_rule(
    actor: Actor,
    *,
    kind: str,
    label: str,
    points: Any,
    field: str = "",
    operator: str = "",
    value: Any = None,
    signal: str = "",
) -> ScoringRule:
    """A fit rule (condition over a field) or an intent rule (a behaviour); refused with reasons."""
    errors: dict[str, str] = {}
    label = " ".join((label or "").split())[:120]
    if not label:
        errors["label"] = "Name the rule."
    number = conditions._number(points)
    if number is None or number != number.to_integral_value():
        errors["points"] = f"“{points}” is not a whole number of points."
    elif abs(number) > 1000:
        errors["points"] = "At most 1000 points either way."
    if kind == ScoringRule.Kind.FIT:
        try:
            value = conditions.validate(field, operator, value)
        except ValidationError as exc:
            errors.update({k: v[0] for k, v in exc.message_dict.items()})
        signal = ""
    elif kind == ScoringRule.Kind.INTENT:
        if signal not in Signal.values:
            errors["signal"] = "Choose the behaviour that earns the points."
        field, operator, value = "", "", None
    else:
        errors["kind"] = "Choose fit or intent."
    if errors:
        raise ValidationError(errors)
    rule = ScoringRule.objects.create(
        kind=kind,
        label=label,
        points=int(number),
        field=(field or "").strip(),
        operator=operator,
        value=value,
        signal=signal,
        position=ScoringRule.objects.filter(kind=kind).count(),
    )
    audit_log.record(
        actor,
        "scoring_rule.created",
        rule,
        changes={"kind": [None, kind], "label": [None, label], "points": [None, rule.points]},
    )
    _rescore_later()
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: ScoringRule) -> None:
    audit_log.record(actor, "scoring_rule.deleted", rule, changes={"label": [rule.label, None]})
    rule.delete()
    _rescore_later()


def rule_text(rule: ScoringRule) -> str:
    if rule.kind == ScoringRule.Kind.INTENT:
        return Signal(rule.signal).label if rule.signal in Signal.values else rule.signal
    return conditions.describe(rule.field, rule.operator, rule.value)
