"""Choosing an owner: rules in order, a team member by turn or by load, the fallback.

Who can take a lead: an active user, not out of office and without time off covering now.
Within a team those at work now (their booking hours, else the organization's) come first;
when nobody of the team is at work, any available member gets it (the lead waits for the
next working morning either way, and the SLA clock counts working time only).

TRICKY: the round-robin turn is taken under ``select_for_update`` on the team row *and* a
compare-and-set update of its cursor, so two captures at the same moment never take the
same turn — on PostgreSQL the row lock queues the second, on SQLite (no row locks) the
compare-and-set makes the loser re-read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from throughline.core.lookup_cache import cached_config
from throughline.core.models import User
from throughline.core.roles import Role
from throughline.intake.booking.availability import away_user_ids, is_working
from throughline.intake.models import Lead
from throughline.intake.routing.conditions import matches
from throughline.intake.routing.models import AssignmentRule, RoutingSettings, Team, TeamMember


@dataclass
class Decision:
    owner: User | None
    reason: str
    rule: AssignmentRule | None = None
    team: Team | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def rule_name(self) -> str:
        return self.rule.name if self.rule else ""

    def payload(self) -> dict[str, Any]:
        return {
            "owner_id": str(self.owner.pk) if self.owner else None,
            "rule_id": str(self.rule.pk) if self.rule else None,
            "rule_name": self.rule_name,
            "team_id": str(self.team.pk) if self.team else None,
            "reason": self.reason,
        }


def open_lead_counts(user_ids: list) -> dict:
    rows = (
        Lead.objects.filter(owner_id__in=user_ids, status__in=Lead.OPEN_STATUSES)
        .values("owner_id")
        .annotate(n=Count("id"))
    )
    return {row["owner_id"]: row["n"] for row in rows}


def pick_member(
    team: Team, *, now: dt.datetime | None = None, exclude: frozenset = frozenset()
) -> tuple[User | None, str]:
    """A member of ``team`` by its strategy; (None, why) when nobody can take the lead."""
    now = now or timezone.now()
    for _attempt in range(5):
        with transaction.atomic():
            chosen, why, done = _take_turn(team, now, exclude)
        if done:
            return chosen, why
    return None, f"team {team} is busy; try again"  # pragma: no cover - five lost races


def _take_turn(team: Team, now: dt.datetime, exclude: frozenset) -> tuple[User | None, str, bool]:
    """One attempt; ``done`` is False only when another capture moved the cursor meanwhile."""
    locked = Team.objects.select_for_update().get(pk=team.pk)
    members = [
        m.user
        for m in TeamMember.objects.filter(team=locked).select_related("user")
        if m.user.is_active
    ]
    if not members:
        return None, f"team {locked} has no active members", True
    away = away_user_ids(members, now)
    candidates = [u for u in members if u.pk not in away and u.pk not in exclude]
    if not candidates:
        return None, f"everyone in team {locked} is away", True
    at_work = [u for u in candidates if is_working(u, now)]
    pool = at_work or candidates
    note = "" if at_work else " (nobody at work now)"
    if locked.strategy == Team.Strategy.LEAST_LOADED:
        counts = open_lead_counts([u.pk for u in pool])
        order = {u.pk: i for i, u in enumerate(members)}
        chosen = min(pool, key=lambda u: (counts.get(u.pk, 0), order[u.pk]))
        load = counts.get(chosen.pk, 0)
        return chosen, f"least loaded in team {locked} ({load} open){note}", True
    # Round-robin: the next member after the cursor who is in the pool.
    eligible = {u.pk for u in pool}
    size = len(members)
    index = 0
    for step in range(1, size + 1):
        index = (locked.cursor + step) % size
        if members[index].pk in eligible:
            break
    moved = Team.objects.filter(pk=locked.pk, cursor=locked.cursor).update(cursor=index)
    return members[index], f"round-robin in team {locked}{note}", moved == 1


def _fallback_lookup() -> tuple[User | None, str]:
    found = RoutingSettings.objects.select_related("fallback_owner").order_by("pk").first()
    configured = found.fallback_owner if found is not None else None
    if configured is not None and configured.is_active:
        return configured, "fallback owner"
    first = User.objects.filter(is_active=True, role=Role.OWNER).order_by("date_joined", "pk")
    return first.first(), "no rule matched and no fallback owner is set: the first owner"


def fallback_owner() -> tuple[User | None, str]:
    return cached_config("intake_routing.fallback_owner", _fallback_lookup)


def active_rules() -> list[AssignmentRule]:
    """The active rules in order (remembered for a batch, e.g. a bulk import; else fresh)."""
    return cached_config(
        "intake_routing.active_rules",
        lambda: list(AssignmentRule.objects.filter(is_active=True).select_related("user", "team")),
    )


def route(
    facts: dict[str, Any],
    *,
    now: dt.datetime | None = None,
    exclude: frozenset = frozenset(),
    use_fallback: bool = True,
    rules: list[AssignmentRule] | None = None,
) -> Decision:
    """The first matching rule that finds someone; else the fallback owner."""
    now = now or timezone.now()
    skipped: list[str] = []
    for rule in active_rules() if rules is None else rules:
        if not matches(rule.conditions or [], facts):
            continue
        if rule.team_id:
            member, why = pick_member(rule.team, now=now, exclude=exclude)
            if member is not None:
                return Decision(member, f"rule “{rule.name}”: {why}", rule, rule.team, skipped)
            skipped.append(f"rule “{rule.name}”: {why}")
            continue
        user = rule.user
        if user is None or user.pk in exclude:
            continue
        if user.pk in away_user_ids([user], now):
            skipped.append(f"rule “{rule.name}”: {user} is away")
            continue
        return Decision(user, f"rule “{rule.name}” matched", rule, None, skipped)
    if not use_fallback:
        return Decision(None, "no rule found anyone", skipped=skipped)
    owner, why = fallback_owner()
    if owner is not None and owner.pk in exclude:
        owner, why = None, "the fallback owner already has it"
    return Decision(owner, why, skipped=skipped)
