"""Proposal templates, governed: every change is a new version, usable once approved.

A version's ``content`` is the structured proposal body (``throughline.sales.content``):
sections (sanitized rich text with merge fields), catalogue lines, options, scope lists,
milestones, payment schedule and terms. Only an APPROVED version can seed a proposal; an
approved version never changes again (services refuse), so what was approved is what is used.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import validate_currency


class ProposalTemplate(TimestampedModel):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def approved_version(self) -> TemplateVersion | None:
        """The newest approved version: what new proposals use."""
        return (
            self.versions.filter(status=TemplateVersion.Status.APPROVED).order_by("-number").first()
        )

    def working_version(self) -> TemplateVersion | None:
        """The open draft (or the version waiting for approval), if any."""
        return (
            self.versions.filter(status__in=TemplateVersion.OPEN_STATUSES)
            .order_by("-number")
            .first()
        )


class TemplateVersion(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED)

    template = models.ForeignKey(
        ProposalTemplate, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, validators=[validate_currency])
    valid_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days a proposal from this template stays open"
    )
    content = models.JSONField(default=dict, blank=True)
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="uniq_template_version"),
            # One working copy per template: editing again continues it.
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(status__in=["draft", "submitted"]),
                name="one_open_template_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number} ({self.get_status_display()})"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT
