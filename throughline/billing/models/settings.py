"""Billing's organization settings (one row): when delivery's milestones are invoiced."""

from __future__ import annotations

from django.db import models

from throughline.core.models.base import SingletonModel


class BillingSettings(SingletonModel):
    """One row: how billing reacts to delivery (changed through ``services.billing_settings``)."""

    class MilestoneTrigger(models.TextChoices):
        ACCEPTED = "accepted", "When the client accepts the milestone"
        COMPLETED = "completed", "When the milestone is delivered"

    invoice_milestones_on = models.CharField(
        max_length=10,
        choices=MilestoneTrigger.choices,
        default=MilestoneTrigger.ACCEPTED,
        help_text="Which delivery event issues a milestone's invoice",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "billing settings"

    def __str__(self) -> str:
        return "Billing settings"
