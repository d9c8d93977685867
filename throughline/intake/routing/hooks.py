"""Recording the capture-time assignment once the new lead's row exists.

TRICKY: ``intake.capture`` asks ``choose_owner`` for an owner *before* it creates the lead,
and the capture code belongs to the intake core (we may only change that one function). So
the routing decision rides on the returned ``User`` object, and this ``post_save`` receiver
— running in the capture's transaction, right after the insert — turns it into the
``Assignment`` row, the audit entry and ``lead.assigned``. It is the only signal in routing
and holds no rule logic; a lead saved without a decision (fixtures, other code) is ignored.
"""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from throughline.intake.models import Lead
from throughline.intake.routing.models import Assignment
from throughline.intake.routing.services import DECISION_ATTR, record_assignment


@receiver(post_save, sender=Lead, dispatch_uid="intake_routing.capture_assignment")
def record_capture_assignment(sender, instance: Lead, created: bool, **kwargs) -> None:
    if not created or instance.owner_id is None:
        return
    owner = instance.owner
    carried = owner.__dict__.pop(DECISION_ATTR, None)
    if carried is None:
        return
    actor, decision = carried
    if decision.owner is None or decision.owner.pk != owner.pk:
        return
    record_assignment(actor, instance, decision, kind=Assignment.Kind.CAPTURE)


def record_bulk_assignments(leads: list[Lead]) -> int:
    """For a bulk insert (no ``post_save``): record the carried decisions of ``leads``.

    Call it in the insert's transaction after ``bulk_create``; returns how many were recorded.
    Leads sharing one owner object (a batch cache hands out the same user) share its decision.
    """
    carried = {lead.pk: lead.owner.__dict__.get(DECISION_ATTR) for lead in leads if lead.owner_id}
    recorded = 0
    try:
        for lead in leads:
            found = carried.get(lead.pk)
            if found is None or Assignment.objects.filter(lead=lead).exists():
                continue
            actor, decision = found
            if decision.owner is None or decision.owner.pk != lead.owner_id:
                continue
            record_assignment(actor, lead, decision, kind=Assignment.Kind.CAPTURE)
            recorded += 1
    finally:
        for lead in leads:
            if lead.owner_id:
                lead.owner.__dict__.pop(DECISION_ATTR, None)
    return recorded
