"""Qualification rubric, scoring rules, score history, outcomes and learned models.

The organization has one rubric and one scoring configuration (``solo()``); criteria and
rules are rows under them. ``ScoreChange`` is the append-only history of a lead's score;
``IntentSignal`` the behaviour that earned intent points (decayed when the score is computed);
``LeadOutcome`` the label the learned model trains on; ``ScoringModel`` one trained version.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core.models.base import SingletonModel, TimestampedModel


class Outcome(models.TextChoices):
    REJECT = "reject", "Reject"
    NURTURE = "nurture", "Nurture"
    DISCOVERY = "discovery", "Schedule discovery"


class Operator(models.TextChoices):
    EQ = "eq", "is"
    NE = "ne", "is not"
    IN = "in", "is one of"
    NOT_IN = "not_in", "is none of"
    GTE = "gte", "is at least"
    LTE = "lte", "is at most"
    BETWEEN = "between", "is between"
    CONTAINS = "contains", "contains"
    PRESENT = "present", "is given"
    ABSENT = "absent", "is missing"


class QualificationRubric(SingletonModel):
    """Go / no-go: points of the criteria met map to an outcome; a knock-out rejects."""

    is_active = models.BooleanField(default=False, help_text="Qualify every captured lead.")
    auto_apply = models.BooleanField(
        default=True, help_text="Act on the outcome at capture (otherwise only recommend it)."
    )
    discovery_at = models.IntegerField(default=60, help_text="Schedule discovery from here.")
    nurture_at = models.IntegerField(default=30, help_text="Nurture from here; below: reject.")
    nurture_sequence = models.ForeignKey(
        "automation.Sequence", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    send_decline_email = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Qualification rubric"


class Criterion(models.Model):
    class Kind(models.TextChoices):
        BUDGET = "budget", "Budget range"
        TIMELINE = "timeline", "Timeline"
        SERVICE = "service", "Service fit"
        LOCATION = "location", "Location"
        CUSTOM = "custom", "Custom question"

    rubric = models.ForeignKey(
        QualificationRubric, on_delete=models.CASCADE, related_name="criteria"
    )
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CUSTOM)
    label = models.CharField(max_length=120)
    field = models.CharField(max_length=80)
    operator = models.CharField(max_length=8, choices=Operator.choices)
    value = models.JSONField(null=True, blank=True)
    points = models.IntegerField(default=0)
    knockout = models.BooleanField(default=False, help_text="Not met → reject, whatever else.")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label


class ScoringConfig(SingletonModel):
    half_life_days = models.DecimalField(
        max_digits=6, decimal_places=1, default=30, help_text="Intent points halve this often."
    )
    hot_at = models.IntegerField(default=60)
    warm_at = models.IntegerField(default=30)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return "Scoring configuration"


class Signal(models.TextChoices):
    REPLY = "reply", "Replied to an e-mail"
    MEETING = "meeting", "Meeting booked or held"
    INBOUND_CALL = "inbound_call", "Called us"
    REPEAT_INQUIRY = "repeat_inquiry", "Sent another inquiry"
    PORTAL_VISIT = "portal_visit", "Viewed a proposal or document"


class ScoringRule(models.Model):
    class Kind(models.TextChoices):
        FIT = "fit", "Fit (attribute)"
        INTENT = "intent", "Intent (behaviour)"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    label = models.CharField(max_length=120)
    position = models.PositiveSmallIntegerField(default=0)
    # Fit: a condition over a lead field. Intent: the behaviour that earns the points.
    field = models.CharField(max_length=80, blank=True)
    operator = models.CharField(max_length=8, choices=Operator.choices, blank=True)
    value = models.JSONField(null=True, blank=True)
    signal = models.CharField(max_length=16, choices=Signal.choices, blank=True)
    points = models.IntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind", "position", "pk"]

    def __str__(self) -> str:
        return self.label


class IntentSignal(models.Model):
    lead = models.ForeignKey("intake.Lead", on_delete=models.CASCADE, related_name="+")
    signal = models.CharField(max_length=16, choices=Signal.choices)
    occurred_at = models.DateTimeField()
    ref = models.CharField(max_length=80, help_text="What caused it (activity, event id)")

    class Meta:
        ordering = ["occurred_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "signal", "ref"], name="uniq_intent_signal")
        ]


class ScoreChange(models.Model):
    """Append-only history of a lead's score, one row per reason."""

    class Kind(models.TextChoices):
        FIT = "fit", "Fit"
        INTENT = "intent", "Intent"
        DECAY = "decay", "Decay"
        RULES = "rules", "Rules changed"

    lead = models.ForeignKey("intake.Lead", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    points = models.IntegerField(help_text="Change")
    score = models.IntegerField(help_text="Score after the change")
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["lead", "-at"], name="score_change_lead_at")]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.reason}"


class LeadOutcome(models.Model):
    """How a lead ended: won (converted, deal not lost) or lost (rejected, deal lost)."""

    class Result(models.TextChoices):
        WON = "won", "Won"
        LOST = "lost", "Lost"

    lead = models.OneToOneField("intake.Lead", on_delete=models.CASCADE, related_name="+")
    result = models.CharField(max_length=4, choices=Result.choices)
    closed_at = models.DateTimeField()


class ScoringModel(TimestampedModel):
    """One trained version; ``is_current`` marks the promoted one (at most one)."""

    version = models.PositiveIntegerField(unique=True)
    blob = models.BinaryField()
    digest = models.CharField(max_length=64, help_text="HMAC-SHA256 of the blob")
    metrics = models.JSONField(default=dict)
    promoted = models.BooleanField(default=False)
    is_current = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Model v{self.version}"


class BookingLink(models.Model):
    """A user's own booking page (until the booking app provides one)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    url = models.URLField(max_length=500)
