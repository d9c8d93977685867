"""Pipelines, their ordered stages, deals and why deals are lost."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import validate_currency

AMOUNT = {"max_digits": 18, "decimal_places": 4}


class Pipeline(TimestampedModel):
    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Stage(TimestampedModel):
    """A step of a pipeline. ``stall_after_days``: an open deal idle longer is flagged."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(100)], help_text="Win probability, percent"
    )
    stall_after_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Flag deals idle in this stage longer than this"
    )

    class Meta:
        ordering = ["pipeline", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="uniq_stage_name"),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="stage_probability_le_100"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.probability}%)"


class LostReason(models.Model):
    """The managed list a lost deal must pick from."""

    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Deal(TimestampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    title = models.CharField(max_length=200)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    value = models.DecimalField(default=0, **AMOUNT)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    company = models.ForeignKey(
        "crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    lost_reason = models.ForeignKey(
        LostReason, null=True, blank=True, on_delete=models.PROTECT, related_name="deals"
    )
    lost_note = models.TextField(blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    # Anything done on the deal (or its proposals) resets the stalled clock.
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # From lead conversion (intake): which lead, and when it was qualified (KPI start).
    lead_id = models.UUIDField(null=True, blank=True, unique=True)
    qualified_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=100, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "stage"]),
            models.Index(fields=["owner", "status"]),
            # reports: the open pipeline (the forecast) read from the index alone, and the
            # deals closed since a date
            models.Index(
                fields=["stage"],
                include=["id", "value", "currency", "expected_close_date", "created_at"],
                condition=Q(status="open"),
                name="sales_deal_open",
            ),
            models.Index(fields=["closed_at"], name="sales_deal_closed_at"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def probability(self) -> int:
        if self.status == self.Status.WON:
            return 100
        if self.status == self.Status.LOST:
            return 0
        return self.stage.probability

    def stalled_since(self) -> dt.datetime | None:
        """When the deal became stalled, or None (open deals in a stage with a limit only)."""
        days = self.stage.stall_after_days
        if self.status != self.Status.OPEN or not days:
            return None
        since = self.last_activity_at + dt.timedelta(days=days)
        return since if since <= timezone.now() else None

    @property
    def is_stalled(self) -> bool:
        return self.stalled_since() is not None


class DealStageChange(models.Model):
    """Append-only history of a deal's stage and status (funnel and cycle-time reports)."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_name = models.CharField(max_length=100, blank=True)
    to_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=8, choices=Deal.Status.choices)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.deal}: {self.from_name or '—'} → {self.to_name} ({self.status})"


def stalled_condition(stages, now: dt.datetime | None = None) -> Q:
    """A filter for open deals idle past their stage's limit (one cutoff per stage)."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for stage in stages:
        if stage.stall_after_days:
            cutoff = now - dt.timedelta(days=stage.stall_after_days)
            condition |= Q(stage=stage, last_activity_at__lt=cutoff)
    return Q(status=Deal.Status.OPEN) & condition
