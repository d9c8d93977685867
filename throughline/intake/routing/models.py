"""Teams, ordered assignment rules, the routing settings and each lead's assignment history."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core.models.base import SingletonModel, TimestampedModel


class Team(TimestampedModel):
    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin (take turns)"
        LEAST_LOADED = "least_loaded", "Least loaded (fewest open leads)"

    name = models.CharField(max_length=100, unique=True)
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default="round_robin")
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Hears about breached first responses of the team's leads",
    )
    # Round-robin cursor: the position of the member who got the last lead. Read and moved
    # only under a row lock (select_for_update) so two captures never take the same turn.
    cursor = models.IntegerField(default=-1)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMember(models.Model):
    id = models.BigAutoField(primary_key=True)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["team", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="uniq_team_member"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team}"


class AssignmentRule(TimestampedModel):
    """If every condition holds, the lead goes to ``user`` or to a member of ``team``.

    ``conditions``: ``[{"field": "country", "op": "in", "value": ["DE", "AT"]}, …]``, all of
    which must hold (an empty list matches every lead). Checked in ``position`` order; the
    first rule that matches *and* finds someone available wins.
    """

    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=list, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="rules"
    )

    class Meta:
        ordering = ["position", "created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def target_label(self) -> str:
        if self.team_id:
            return f"team {self.team}"
        return str(self.user) if self.user_id else "nobody"


class RoutingSettings(SingletonModel):
    """One row: the fallback owner and what a breached first response does."""

    class Escalation(models.TextChoices):
        NOTIFY = "notify", "Notify the manager (task and e-mail)"
        REASSIGN = "reassign", "Reassign to the next available person"
        NONE = "none", "Do nothing more than the SLA e-mail"

    fallback_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation = models.CharField(max_length=16, choices=Escalation.choices, default="notify")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "routing settings"

    def __str__(self) -> str:
        return "Routing settings"


class Assignment(models.Model):
    """One change of a lead's owner and why: the lead's assignment history (append-only)."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", "At capture"
        MANUAL = "manual", "By hand"
        REROUTE = "reroute", "Routed again"
        SLA_REASSIGN = "sla_reassign", "Reassigned after a missed first response"
        SLA_ESCALATE = "sla_escalate", "Escalated to a manager"

    id = models.BigAutoField(primary_key=True)
    lead = models.ForeignKey("intake.Lead", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(max_length=100, blank=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=300)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["lead", "-at"], name="assignment_lead_at")]

    def __str__(self) -> str:
        return f"{self.lead_id} → {self.owner_id} ({self.kind})"
