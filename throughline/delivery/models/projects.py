"""Projects, their milestones, checklists, work items and the QA passes kept as evidence.

Milestone states: planned → in_progress → in_qa → delivered → accepted (a change request sends
a delivered milestone back to in_progress and counts a revision). Lateness is derived from the
due date, never stored. Every transition happens in ``delivery.services.milestones``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import validate_currency

AMOUNT = {"max_digits": 18, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL


class Project(TimestampedModel):
    class Status(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        ACTIVE = "active", "In delivery"
        CLOSED = "closed", "Closed"

    class Kind(models.TextChoices):
        FIXED = "fixed", "Fixed scope"
        RETAINER = "retainer", "Retainer (monthly)"

    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.ONBOARDING, db_index=True
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FIXED)
    contact = models.ForeignKey("crm.Contact", on_delete=models.PROTECT, related_name="projects")
    company = models.ForeignKey(
        "crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="projects"
    )
    deal = models.ForeignKey(
        "sales.Deal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposal = models.ForeignKey(
        "sales.Proposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One project per signed contract: a redelivered contract.signed finds it.
    contract = models.OneToOneField(
        "signing.Contract", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template_version = models.ForeignKey(
        "delivery.ProjectTemplateVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="projects",
    )
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="projects"
    )
    brief = models.JSONField(default=dict, blank=True)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    start_date = models.DateField(help_text="Day zero of the template's offsets")
    kickoff_date = models.DateField(null=True, blank=True)
    # Retainers: the fee per monthly period (tax-exclusive) and how many periods (empty: open).
    retainer_amount = models.DecimalField(null=True, blank=True, **AMOUNT)
    retainer_months = models.PositiveSmallIntegerField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closeout = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED


class Milestone(TimestampedModel):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        IN_QA = "in_qa", "In QA"
        DELIVERED = "delivered", "Delivered"
        ACCEPTED = "accepted", "Accepted"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PLANNED, db_index=True
    )
    due_date = models.DateField(null=True, blank=True)
    # The instalment of the proposal's payment schedule due on this milestone, if any.
    percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(null=True, blank=True, **AMOUNT)
    currency = models.CharField(max_length=3, blank=True)
    revision_count = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["project", "position", "due_date"]

    def __str__(self) -> str:
        return self.title

    def is_late(self, today: dt.date) -> bool:
        done = self.status in (self.Status.DELIVERED, self.Status.ACCEPTED)
        return bool(self.due_date and not done and self.due_date < today)


class ChecklistItem(TimestampedModel):
    class Kind(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        QA = "qa", "QA"
        OFFBOARDING = "offboarding", "Offboarding"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="checklist")
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="qa_items"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=200)
    owner_role = models.CharField(max_length=20, blank=True)
    owner = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    task = models.OneToOneField(
        "crm.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["kind", "milestone", "position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="qa", milestone__isnull=False) | ~Q(kind="qa"),
                name="qa_item_has_milestone",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class WorkItem(TimestampedModel):
    """A task of a milestone, on the project's board (to do → doing → done)."""

    class Status(models.TextChoices):
        TODO = "todo", "To do"
        DOING = "doing", "Doing"
        DONE = "done", "Done"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="work_items")
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="work_items"
    )
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.TODO)
    assignee = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["project", "milestone", "position"]

    def __str__(self) -> str:
        return self.title


class QAPass(models.Model):
    """The documented QA pass of a delivery: what was checked, by whom, when. Append-only."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="qa_passes")
    revision = models.PositiveSmallIntegerField()
    items = models.JSONField(default=list)
    delivered_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["milestone", "at"]

    def __str__(self) -> str:
        return f"QA pass of {self.milestone} (revision {self.revision})"


class MilestoneReview(models.Model):
    """A client's decision on a delivered milestone (accept, or changes with a comment)."""

    class Decision(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        CHANGES = "changes", "Changes requested"

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    by_label = models.CharField(max_length=200)
    by_user = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16)
    at = models.DateTimeField()

    class Meta:
        ordering = ["milestone", "at"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.by_label}"


class ProjectComment(TimestampedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="comments")
    milestone = models.ForeignKey(
        Milestone, null=True, blank=True, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_client = models.BooleanField(default=False)
    client_name = models.CharField(max_length=200, blank=True)
    body = models.TextField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Comment on {self.project}"

    @property
    def by(self) -> str:
        if self.is_client:
            return self.client_name or "Client"
        return self.author.display_name if self.author else "Staff"


class SharedFile(TimestampedModel):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="delivery/files/%Y/%m/")
    name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class OnboardingResponse(TimestampedModel):
    """The client's answers to the onboarding questionnaire (access, assets, stakeholders)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="onboarding")
    answers = models.JSONField(default=dict)
    submitted_by = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"Onboarding answers for {self.project}"


class Testimonial(TimestampedModel):
    """Stored on the contact: what they said, their rating, whether we may publish it."""

    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="testimonials"
    )
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="testimonial")
    text = models.TextField()
    rating = models.PositiveSmallIntegerField()
    may_publish = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="testimonial_rating_1_5"
            )
        ]

    def __str__(self) -> str:
        return f"Testimonial by {self.contact} ({self.rating}/5)"


class NpsResponse(TimestampedModel):
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="nps_scores")
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="nps")
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(score__lte=10), name="nps_score_0_10")]

    def __str__(self) -> str:
        return f"NPS {self.score} from {self.contact}"


class RetainerPeriod(TimestampedModel):
    """One month of a retainer; opened by the periodic sweep, announced for invoicing."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="periods")
    number = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()
    amount = models.DecimalField(**AMOUNT)
    currency = models.CharField(max_length=3)

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="uniq_retainer_period")
        ]

    def __str__(self) -> str:
        return f"{self.project} period {self.number}"
