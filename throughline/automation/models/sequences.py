"""Sequences: ordered e-mail / task / wait steps per contact, stopped by what the contact does."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel


class StopReason(models.TextChoices):
    REPLIED = "replied", "Reply received"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    CONVERTED = "converted", "Converted"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    PAID = "paid", "Paid"


# Reasons a person or a workflow gives, beyond the configurable stop conditions.
OTHER_STOP_REASONS = {"removed": "Removed", "subject_deleted": "Record deleted"}


class Sequence(TimestampedModel):
    class Purpose(models.TextChoices):
        NURTURE = "nurture", "Lead nurture"
        PAYMENT_REMINDERS = "payment_reminders", "Payment reminders"
        OTHER = "other", "Other"

    key = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    purpose = models.CharField(max_length=24, choices=Purpose.choices, default=Purpose.NURTURE)
    stop_on = models.JSONField(default=list, blank=True, help_text="StopReason values")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SequenceStep(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "Send an e-mail template"
        TASK = "task", "Create a task"
        WAIT = "wait", "Wait business days"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    template_key = models.CharField(max_length=80, blank=True)
    task_title = models.CharField(max_length=200, blank=True)
    task_due_business_days = models.PositiveSmallIntegerField(default=1)
    wait_business_days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sequence", "position", "id"]

    def __str__(self) -> str:
        if self.kind == self.Kind.EMAIL:
            return f"E-mail “{self.template_key}”"
        if self.kind == self.Kind.TASK:
            return f"Task “{self.task_title}”"
        return f"Wait {self.wait_business_days} business day(s)"


class Enrollment(TimestampedModel):
    """One contact going through one sequence (optionally about one record, e.g. an invoice)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    stop_reason = models.CharField(max_length=32, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    next_position = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    last_position = models.PositiveSmallIntegerField(null=True, blank=True)
    # The step done last: a stop (a reply …) is counted against it in the statistics.
    last_step = models.ForeignKey(
        SequenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=120, blank=True, help_text="e.g. automation.run:<id>")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "contact", "subject_type", "subject_id"],
                condition=Q(status="active"),
                name="uniq_active_enrollment",
            )
        ]
        indexes = [models.Index(fields=["contact", "status"])]

    def __str__(self) -> str:
        return f"{self.contact} in {self.sequence}"


class EnrollmentStep(models.Model):
    """The ledger: what each step did for one enrolment (unique per position: done once)."""

    class Outcome(models.TextChoices):
        SENT = "sent", "E-mail queued"
        NO_CONSENT = "no_consent", "Skipped: no marketing consent"
        SUPPRESSED = "suppressed", "Skipped: address suppressed"
        TASK_CREATED = "task_created", "Task created"
        WAITED = "waited", "Waited"

    id = models.BigAutoField(primary_key=True)
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="steps")
    step = models.ForeignKey(
        SequenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    position = models.PositiveSmallIntegerField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detail = models.CharField(max_length=300, blank=True)
    message = models.ForeignKey(
        "messaging.OutboundMessage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task = models.ForeignKey(
        "crm.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheduled_for = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField()
    lateness_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["enrollment", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "position"], name="uniq_enrollment_step_position"
            )
        ]
