"""Workflows, their immutable versions, and the ledger of runs and steps."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core.models import DomainEvent
from throughline.core.models.base import TimestampedModel


class TriggerType(models.TextChoices):
    EVENT = "event", "When an event happens"
    SCHEDULE = "schedule", "On a schedule"
    ABSENCE = "absence", "When an event does not follow another"


class Workflow(TimestampedModel):
    """What staff name and switch on and off; its behaviour lives in ``current_version``."""

    key = models.SlugField(max_length=80, unique=True, help_text="Stable name used in exports")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    current_version = models.ForeignKey(
        "WorkflowVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Schedule triggers: when the next run is due. Claimed with a conditional UPDATE, and the
    # following due time is computed from *now*, so downtime leads to one late run.
    next_fire_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_fired_at = models.DateTimeField(null=True, blank=True)
    last_lateness_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """One saved definition. Never changed: editing a workflow adds a version."""

    id = models.BigAutoField(primary_key=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    # Denormalized from the definition so the event dispatcher finds candidates by index.
    trigger_type = models.CharField(max_length=16, choices=TriggerType.choices)
    trigger_event = models.CharField(max_length=64, blank=True, db_index=True)
    absence_event = models.CharField(max_length=64, blank=True)
    subject_type = models.CharField(max_length=64, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="uniq_workflow_version")
        ]

    def __str__(self) -> str:
        return f"{self.workflow} v{self.number}"

    @property
    def steps(self) -> list[dict]:
        return list(self.definition.get("steps", []))


class WorkflowRun(TimestampedModel):
    """One execution of one version for one subject, started by one trigger."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting"
        SUCCEEDED = "succeeded", "Finished"
        FAILED = "failed", "Failed (a step is dead-lettered)"
        CANCELLED = "cancelled", "Cancelled"
        BLOCKED = "blocked", "Stopped by the loop guard"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(WorkflowVersion, on_delete=models.PROTECT, related_name="runs")
    # "event:<id>", "schedule:<due time>", "absence:<watch id>", "manual:<uuid>".
    trigger_key = models.CharField(max_length=100)
    event = models.ForeignKey(
        DomainEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.CharField(max_length=64, blank=True)
    subject_repr = models.CharField(max_length=200, blank=True)
    depth = models.PositiveSmallIntegerField(default=0, help_text="Causal chain depth")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    status_reason = models.CharField(max_length=300, blank=True)
    lateness_seconds = models.FloatField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "trigger_key", "subject_type", "subject_id"],
                name="uniq_run_per_trigger_and_subject",
            )
        ]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "created_at"]),
            models.Index(fields=["workflow", "subject_type", "subject_id", "created_at"]),
            models.Index(fields=["status", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} for {self.subject_repr or '—'} ({self.get_status_display()})"


class StepRun(models.Model):
    """One step of one run: its input, output, error and timing.

    ``idempotency_key`` (version, trigger, subject, step) is unique: the step's effect commits
    with the row's SUCCEEDED status, so a retried or duplicated job has its effect once.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        PENDING = "pending", "Queued"
        RUNNING = "running", "Running"
        RETRYING = "retrying", "Failed, will retry"
        SUCCEEDED = "succeeded", "Done"
        DEAD = "dead", "Dead-lettered"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = (Status.SUCCEEDED, Status.CANCELLED)

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(WorkflowRun, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveSmallIntegerField()
    step_id = models.CharField(max_length=50)
    action = models.CharField(max_length=80)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    job_id = models.CharField(max_length=64, blank=True, help_text="The job that runs it")
    scheduled_for = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lateness_seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="uniq_step_per_run_index")
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.step_id} ({self.action}) {self.get_status_display()}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class CausedEvent(models.Model):
    """Domain events a step emitted: their chain depth for the loop guard, and provenance."""

    event = models.OneToOneField(
        DomainEvent, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    step = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="emitted")
    depth = models.PositiveSmallIntegerField()


class AbsenceWatch(models.Model):
    """ "Event A happened; fire unless event B follows on the same subject in time"."""

    class Status(models.TextChoices):
        WATCHING = "watching", "Watching"
        FIRED = "fired", "Fired (the event did not come)"
        CANCELLED = "cancelled", "Cancelled (the event came)"

    id = models.BigAutoField(primary_key=True)
    version = models.ForeignKey(WorkflowVersion, on_delete=models.CASCADE, related_name="+")
    start_event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="+")
    missing_event = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WATCHING)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "start_event"], name="uniq_absence_watch")
        ]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["missing_event", "subject_type", "subject_id"]),
        ]
