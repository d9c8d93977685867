"""A first response missed its deadline (``lead.sla_breached``): reassign or escalate.

The SLA sweep already e-mails the owner and a manager. Per the routing settings we then
either give the lead to the next available person (the same team's next member, else the
rules run again without the current owner) or put a task on the manager's list (the team's
manager, else the longest-serving admin); a first response closes that task like the
first-contact task (same ``source``).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import Channel, DomainEvent
from throughline.crm import services as crm
from throughline.intake.models import Lead
from throughline.intake.routing.engine import Decision, pick_member, route
from throughline.intake.routing.models import Assignment, RoutingSettings
from throughline.intake.routing.services import facts_for_lead, record_assignment
from throughline.intake.sla import manager_for


def escalation_actor() -> Actor:
    return Actor.system(Channel.WORKER, label="routing escalation")


@events.on("lead.sla_breached")
def escalate_breach(event: DomainEvent) -> str:
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("owner", "source", "contact")
        .filter(pk=event.subject_id)
        .first()
    )
    if lead is None or not lead.is_open or lead.first_response_at is not None:
        return "nothing to do"
    mode = RoutingSettings.current().escalation
    if mode == RoutingSettings.Escalation.REASSIGN:
        if reassign_after_breach(lead):
            return "reassigned"
    if mode == RoutingSettings.Escalation.NONE:
        return "none"
    return escalate_to_manager(lead)


def _team_of(lead: Lead):
    last = (
        Assignment.objects.filter(lead=lead, team__isnull=False, owner=lead.owner)
        .select_related("team", "rule")
        .first()
    )
    return (last.team, last.rule) if last else (None, None)


def reassign_after_breach(lead: Lead) -> bool:
    actor = escalation_actor()
    exclude = frozenset({lead.owner_id}) if lead.owner_id else frozenset()
    team, rule = _team_of(lead)
    decision = None
    if team is not None:
        member, why = pick_member(team, exclude=exclude)
        if member is not None:
            decision = Decision(member, f"first response overdue; {why}", rule, team)
    if decision is None:
        found = route(facts_for_lead(lead), exclude=exclude)
        if found.owner is not None:
            found.reason = f"first response overdue; {found.reason}"
            decision = found
    if decision is None or decision.owner is None:
        return False
    previous = lead.owner
    Lead.objects.filter(pk=lead.pk).update(owner=decision.owner, updated_at=timezone.now())
    lead.owner = decision.owner
    record_assignment(actor, lead, decision, kind=Assignment.Kind.SLA_REASSIGN, previous=previous)
    return True


def escalate_to_manager(lead: Lead) -> str:
    team, _rule = _team_of(lead)
    manager = team.manager if team is not None and team.manager_id else manager_for(lead.owner)
    if manager is None or not manager.is_active:
        return "no manager"
    actor = escalation_actor()
    owner = str(lead.owner) if lead.owner else "nobody"
    crm.create_task(
        actor,
        title=f"Escalated: first response overdue for {lead.display_name}"[:200],
        description=f"The lead is assigned to {owner} and has not been answered in time.",
        owner=manager,
        contact=lead.contact,
        due_at=timezone.now() + dt.timedelta(minutes=30),
        source=lead.task_source,
    )
    if manager.email and manager != manager_for(lead.owner) and manager != lead.owner:
        # The SLA sweep mailed the owner and the longest-serving admin; a team's own manager
        # hears it here.
        from throughline.messaging.services import queue_email

        queue_email(
            actor,
            to=manager.email,
            subject=f"Escalated: first response overdue for {lead.display_name}"[:300],
            body_text=(
                f"{lead.display_name} ({lead.source.name}) is assigned to {owner} and has not "
                f"been answered in time.\n\n{settings.BASE_URL}{reverse('intake:lead_detail', args=[lead.pk])}\n"
            ),
            source=lead.task_source,
            idempotency_key=f"lead-sla-escalation:{lead.pk}:{manager.pk}",
        )
    Assignment.objects.create(
        lead=lead,
        kind=Assignment.Kind.SLA_ESCALATE,
        owner=lead.owner,
        previous_owner=lead.owner,
        team=team,
        reason=f"first response overdue; escalated to {manager}"[:300],
        at=timezone.now(),
    )
    return "escalated"
