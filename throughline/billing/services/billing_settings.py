"""Changing billing's organization settings (audited)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.billing.models import BillingSettings
from throughline.core import audit_log
from throughline.core.actor import Actor


@transaction.atomic
def set_milestone_trigger(actor: Actor, trigger: str) -> BillingSettings:
    """Invoice milestones on ``accepted`` (the default) or ``completed`` (delivered)."""
    choices = BillingSettings.MilestoneTrigger
    if trigger not in choices.values:
        raise ValidationError(
            {"invoice_milestones_on": [f"Choose one of: {', '.join(choices.values)}."]}
        )
    row = BillingSettings.current()
    row = BillingSettings.objects.select_for_update().get(pk=row.pk)
    before = row.invoice_milestones_on
    if before != trigger:
        row.invoice_milestones_on = trigger
        row.save(update_fields=["invoice_milestones_on", "updated_at"])
        audit_log.record(
            actor,
            "billing.settings_changed",
            row,
            changes={"invoice_milestones_on": [before, trigger]},
        )
    return row
