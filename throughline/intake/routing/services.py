"""Every routing write: rules, teams, settings, and (re)assigning a lead. One transaction each.

``decide_for_new_lead`` is what ``intake.capture.choose_owner`` asks before the lead exists;
capture records the decision (``record_assignment`` / ``record_assignments``) right after
inserting the lead, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.lookup_cache import config_changed
from throughline.core.models import Organization, User
from throughline.intake.models import Lead, LeadSource
from throughline.intake.routing import conditions as cond
from throughline.intake.routing.engine import Decision, active_rules, route
from throughline.intake.routing.models import (
    Assignment,
    AssignmentRule,
    RoutingSettings,
    Team,
    TeamMember,
)

# --- Facts --------------------------------------------------------------------------------


def facts_for_input(data: Any, source: LeadSource | None) -> dict[str, Any]:
    """Facts of a lead being captured (``intake.capture.LeadInput``)."""
    org = Organization.current()
    return cond.build_facts(
        source=source.slug if source else (data.source or ""),
        channel=data.channel,
        phone=data.phone,
        email=data.email,
        custom=data.custom,
        utm=data.utm,
        default_region=org.default_phone_region,
    )


def facts_for_lead(lead: Lead) -> dict[str, Any]:
    org = Organization.current()
    return cond.build_facts(
        source=lead.source.slug,
        channel=lead.channel,
        phone=lead.phone,
        email=lead.email,
        custom=lead.custom,
        utm=lead.utm,
        default_region=org.default_phone_region,
    )


# --- Capture ---------------------------------------------------------------------------------


def decide_for_new_lead(actor: Actor, data: Any, source: LeadSource | None) -> Decision:
    """The owner of a lead being captured: the channel's choice, the rules, then fallbacks.

    Order: an owner the channel named; the first matching rule; the source's default
    owner; whoever types a lead in by hand; the fallback owner; the first owner.
    """
    decision: Decision | None = None
    if data.owner is not None and data.owner.is_active:
        decision = Decision(data.owner, "named by the channel")
    if decision is None:
        # Facts (a phone number parsed, the organization read) only when rules exist: a
        # capture without rules costs one query more than before routing.
        rules = active_rules()
        skipped: list[str] = []
        if rules:
            decision = route(facts_for_input(data, source), use_fallback=False, rules=rules)
            skipped = decision.skipped
        if decision is None or decision.owner is None:
            decision = _capture_fallbacks(actor, data, source, skipped)
    return decision


def _capture_fallbacks(actor, data, source, skipped) -> Decision:
    from throughline.intake.routing.engine import fallback_owner

    default = source.default_owner if source else None
    if default is not None and default.is_active:
        return Decision(default, f"default owner of source {source.slug}", skipped=skipped)
    if data.channel in {"manual", "referral"} and actor.user is not None and actor.user.is_active:
        return Decision(actor.user, "entered by hand", skipped=skipped)
    owner, why = fallback_owner()
    return Decision(owner, why, skipped=skipped)


def record_assignment(
    actor: Actor,
    lead: Lead,
    decision: Decision,
    *,
    kind: str,
    previous: User | None = None,
) -> Assignment:
    """History row, audit entry and ``lead.assigned`` (caller holds the transaction)."""
    return record_assignments(actor, [(lead, decision)], kind=kind, previous=previous)[0]


def record_assignments(
    actor: Actor,
    decided: list[tuple[Lead, Decision]],
    *,
    kind: str,
    previous: User | None = None,
) -> list[Assignment]:
    """``record_assignment`` for many leads at once (bulk capture): one insert per table."""
    now = timezone.now()
    entries = Assignment.objects.bulk_create(
        [
            Assignment(
                lead=lead,
                kind=kind,
                owner=decision.owner,
                previous_owner=previous,
                rule=decision.rule,
                rule_name=decision.rule_name,
                team=decision.team,
                reason=decision.reason[:300],
                by=actor.user,
                at=now,
            )
            for lead, decision in decided
        ]
    )
    audit_log.record_many(
        actor,
        [
            audit_log.Change(
                "lead.assigned",
                lead,
                {
                    "owner": [
                        previous.email if previous else None,
                        decision.owner.email if decision.owner else None,
                    ],
                    "rule": [None, decision.rule_name or None],
                    "reason": [None, decision.reason[:300]],
                },
            )
            for lead, decision in decided
        ],
    )
    events.emit_many(
        actor,
        [
            events.Occurrence(
                "lead.assigned",
                lead,
                {
                    "lead_id": str(lead.pk),
                    "previous_owner_id": str(previous.pk) if previous else None,
                    "kind": kind,
                    **decision.payload(),
                },
            )
            for lead, decision in decided
        ],
    )
    return entries


# --- Reassigning -------------------------------------------------------------------------------


def _apply_owner(lead: Lead, owner: User | None) -> None:
    Lead.objects.filter(pk=lead.pk).update(owner=owner, updated_at=timezone.now())
    lead.owner = owner


@transaction.atomic
def assign_lead(actor: Actor, lead: Lead, owner: User, *, reason: str = "") -> Lead:
    """A person gives the lead to someone."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if not owner.is_active:
        raise ValidationError({"owner": "This user is deactivated."})
    if not owner.can("leads.edit"):
        raise ValidationError({"owner": f"{owner} may not work on leads (role {owner.role})."})
    previous = lead.owner
    if previous == owner:
        return lead
    _apply_owner(lead, owner)
    decision = Decision(owner, (reason or "assigned by hand").strip()[:300])
    record_assignment(actor, lead, decision, kind=Assignment.Kind.MANUAL, previous=previous)
    return lead


@transaction.atomic
def reroute_lead(
    actor: Actor, lead: Lead, *, kind: str = Assignment.Kind.REROUTE, exclude_current=False
) -> Decision:
    """Run the rules again for an existing lead (optionally not to its current owner)."""
    lead = Lead.objects.select_for_update().select_related("source", "owner").get(pk=lead.pk)
    exclude = frozenset({lead.owner_id}) if exclude_current and lead.owner_id else frozenset()
    decision = route(facts_for_lead(lead), exclude=exclude)
    if decision.owner is None or decision.owner == lead.owner:
        return decision
    previous = lead.owner
    _apply_owner(lead, decision.owner)
    record_assignment(actor, lead, decision, kind=kind, previous=previous)
    return decision


def history(lead: Lead):
    return Assignment.objects.filter(lead=lead).select_related(
        "owner", "previous_owner", "rule", "team", "by"
    )


# --- Rules -------------------------------------------------------------------------------------


def _clean_rule(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    name = " ".join(str(data.get("name") or "").split())[:100]
    if not name:
        errors["name"] = "Give the rule a name."
    user, team = data.get("user"), data.get("team")
    if (user is None) == (team is None):
        errors["target"] = "Assign to exactly one: a user or a team."
    elif user is not None:
        if not user.is_active:
            errors["target"] = f"{user} is deactivated."
        elif not user.can("leads.edit"):
            errors["target"] = f"{user} may not work on leads (role {user.role})."
    elif not TeamMember.objects.filter(team=team, user__is_active=True).exists():
        errors["target"] = f"Team {team} has no active members."
    known = set(LeadSource.objects.values_list("slug", flat=True))
    try:
        conditions = cond.clean_conditions(data.get("conditions"), known_sources=known)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        conditions = []
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "user": user,
        "team": team,
        "conditions": conditions,
        "is_active": bool(data.get("is_active", True)),
    }


@transaction.atomic
def create_rule(actor: Actor, **data: Any) -> AssignmentRule:
    cleaned = _clean_rule(data)
    last = AssignmentRule.objects.aggregate(m=Max("position"))["m"]
    rule = AssignmentRule.objects.create(position=(last + 1) if last is not None else 0, **cleaned)
    audit_log.record(
        actor, "routing_rule.created", rule, changes=audit_log.diff({}, audit_log.snapshot(rule))
    )
    return rule


@transaction.atomic
def update_rule(actor: Actor, rule: AssignmentRule, **data: Any) -> AssignmentRule:
    rule = AssignmentRule.objects.select_for_update().get(pk=rule.pk)
    before = audit_log.snapshot(rule)
    for key, value in _clean_rule(data).items():
        setattr(rule, key, value)
    rule.save()
    changes = audit_log.diff(before, audit_log.snapshot(rule))
    if changes:
        audit_log.record(actor, "routing_rule.updated", rule, changes=changes)
    return rule


@transaction.atomic
def delete_rule(actor: Actor, rule: AssignmentRule) -> None:
    audit_log.record(actor, "routing_rule.deleted", rule, changes={"name": [rule.name, None]})
    rule.delete()


@transaction.atomic
def move_rule(actor: Actor, rule: AssignmentRule, direction: str) -> None:
    """Swap a rule with its neighbour ("up" or "down"); positions are renumbered 0…n."""
    if direction not in {"up", "down"}:
        raise ValidationError("Move a rule up or down.")
    rules = list(AssignmentRule.objects.select_for_update().order_by("position", "created_at"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, item in enumerate(rules):
        if item.position != position:
            AssignmentRule.objects.filter(pk=item.pk).update(position=position)
    config_changed()  # the rules' order is remembered by capture (updates send no signal)
    audit_log.record(actor, "routing_rule.moved", rule, changes={"position": [index, other]})


# --- Teams and settings --------------------------------------------------------------------


@transaction.atomic
def save_team(
    actor: Actor,
    team: Team | None,
    *,
    name: str,
    strategy: str,
    members: list[User],
    manager: User | None = None,
) -> Team:
    errors = {}
    name = " ".join((name or "").split())[:100]
    if not name:
        errors["name"] = "Give the team a name."
    elif Team.objects.filter(name=name).exclude(pk=team.pk if team else None).exists():
        errors["name"] = "Another team has this name."
    if strategy not in Team.Strategy.values:
        errors["strategy"] = "Choose round-robin or least loaded."
    if not members:
        errors["members"] = "A team needs at least one member."
    inactive = [str(u) for u in members if not u.is_active or not u.can("leads.edit")]
    if inactive:
        errors["members"] = f"Cannot take leads: {', '.join(inactive)}."
    if errors:
        raise ValidationError(errors)
    created = team is None
    if created:
        team = Team.objects.create(name=name, strategy=strategy, manager=manager)
    else:
        team = Team.objects.select_for_update().get(pk=team.pk)
        team.name, team.strategy, team.manager = name, strategy, manager
        team.save()
    TeamMember.objects.filter(team=team).exclude(user__in=members).delete()
    for position, user in enumerate(members):
        TeamMember.objects.update_or_create(team=team, user=user, defaults={"position": position})
    audit_log.record(
        actor,
        "routing_team.created" if created else "routing_team.updated",
        team,
        changes={"members": [None, [u.email for u in members]], "strategy": [None, strategy]},
    )
    return team


@transaction.atomic
def update_settings(
    actor: Actor, *, fallback_owner: User | None, escalation: str
) -> RoutingSettings:
    if escalation not in RoutingSettings.Escalation.values:
        raise ValidationError({"escalation": "Choose notify, reassign or none."})
    if fallback_owner is not None and not fallback_owner.is_active:
        raise ValidationError({"fallback_owner": "This user is deactivated."})
    found = RoutingSettings.current()
    found = RoutingSettings.objects.select_for_update().get(pk=found.pk)
    before = audit_log.snapshot(found)
    found.fallback_owner, found.escalation = fallback_owner, escalation
    found.save()
    changes = audit_log.diff(before, audit_log.snapshot(found))
    if changes:
        audit_log.record(actor, "routing_settings.updated", found, changes=changes)
    return found
