"""Project templates, versioned: every saved change is a new, immutable version.

A version's ``content`` (validated by ``delivery.template_content``) holds the milestones with
relative day offsets, their tasks and QA checklists, the onboarding checklist (items with an
owner role and a due offset) and the offboarding checklist. A project remembers the version
it was made from, so editing a template never changes a running project.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core.models.base import SingletonModel, TimestampedModel


class ProjectTemplate(TimestampedModel):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)
    # Proposals made from these proposal templates get a project from this template.
    proposal_templates = models.ManyToManyField(
        "sales.ProposalTemplate", blank=True, related_name="project_templates"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def current_version(self) -> ProjectTemplateVersion | None:
        return self.versions.order_by("-number").first()


class ProjectTemplateVersion(TimestampedModel):
    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content = models.JSONField(default=dict, blank=True)
    change_note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="uniq_project_template_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} v{self.number}"


class ProposalProjectTemplate(models.Model):
    """The project template chosen for one proposal (overrides the proposal template's)."""

    proposal = models.OneToOneField("sales.Proposal", on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="+")
    chosen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.proposal_id} → {self.template}"


class DeliverySettings(SingletonModel):
    """One row: the organization's delivery defaults."""

    default_template = models.ForeignKey(
        ProjectTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expansion_followup_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days after closing a project until the repeat-business follow-up"
    )
    portal_link_days = models.PositiveSmallIntegerField(
        default=60, help_text="How long a client's portal link stays valid"
    )
    max_upload_mb = models.PositiveSmallIntegerField(default=20)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "delivery settings"

    def __str__(self) -> str:
        return "Delivery settings"
