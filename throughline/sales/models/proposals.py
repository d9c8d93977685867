"""Proposals: versions (each frozen when sent), lines, approvals, one comment thread, acceptance.

A proposal belongs to a deal. Its versions are numbered; the newest SENT one is what the client
sees and may accept. A sent version never changes (DESIGN §3: the parties and amounts are a
snapshot taken when issued); a change means a new version, and the diff between versions is
shown to both sides.
"""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import SingletonModel, TimestampedModel
from throughline.core.models.organization import validate_currency
from throughline.sales.models.catalogue import PRICE, RATE, TaxCategory
from throughline.sales.models.pipeline import AMOUNT, Deal
from throughline.sales.models.templates import TemplateVersion

QUANTITY = {"max_digits": 18, "decimal_places": 4}


class ApprovalPolicy(SingletonModel):
    """The internal approval rules (one row): what a proposal needs before it may be sent."""

    max_discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=15,
        null=True,
        blank=True,
        help_text="A discount above this (on a line, the whole proposal, or in effect) needs approval",
    )
    total_threshold = models.DecimalField(
        null=True, blank=True, help_text="A total (before tax) above this needs approval", **AMOUNT
    )
    threshold_currency = models.CharField(
        max_length=3, default="USD", validators=[validate_currency]
    )
    nonstandard_terms_need_approval = models.BooleanField(
        default=True, help_text="Terms or payment schedule changed from the template"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "approval policy"

    def __str__(self) -> str:
        return "Proposal approval policy"

    @classmethod
    def singleton_defaults(cls) -> dict:
        from throughline.core.models import Organization

        return {"threshold_currency": Organization.current().base_currency}


class ProposalNumber(models.Model):
    """Per-year counter for proposal numbers (P-2025-0001), taken under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Proposal(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        EXPIRED = "expired", "Expired"
        WITHDRAWN = "withdrawn", "Withdrawn"

    number = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200)
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="proposals")
    template_version = models.ForeignKey(
        TemplateVersion, on_delete=models.PROTECT, related_name="proposals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    currency = models.CharField(max_length=3, validators=[validate_currency])
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # KPI clock: qualified → sent → accepted (qualified_at from the deal or its lead).
    qualified_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_viewed_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_version = models.PositiveIntegerField(null=True, blank=True)
    accepted_version = models.ForeignKey(
        "ProposalVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    def latest_version(self) -> ProposalVersion | None:
        return self.versions.order_by("-number").first()

    def client_version(self) -> ProposalVersion | None:
        """What the client sees: the newest version that was sent (or accepted)."""
        return (
            self.versions.filter(
                status__in=[ProposalVersion.Status.SENT, ProposalVersion.Status.ACCEPTED]
            )
            .order_by("-number")
            .first()
        )


class ProposalVersion(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        APPROVED = "approved", "Approved internally"
        SENT = "sent", "Sent"
        SUPERSEDED = "superseded", "Superseded by a newer version"
        ACCEPTED = "accepted", "Accepted"

    EDITABLE = (Status.DRAFT, Status.PENDING_APPROVAL, Status.APPROVED)

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    content = models.JSONField(default=dict, blank=True)
    # Sections and terms rendered with the parties below; frozen with them when sent.
    rendered = models.JSONField(default=dict, blank=True)
    parties = models.JSONField(default=dict, blank=True)
    discount_percent = models.DecimalField(default=0, **RATE)
    valid_until = models.DateField()
    net_total = models.DecimalField(default=0, **AMOUNT)
    tax_total = models.DecimalField(default=0, **AMOUNT)
    gross_total = models.DecimalField(default=0, **AMOUNT)
    totals = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    change_note = models.TextField(blank=True)
    requested_in = models.ForeignKey(
        "ProposalComment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["proposal", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="uniq_proposal_version"),
            models.UniqueConstraint(
                fields=["proposal"],
                condition=Q(status__in=["draft", "pending_approval", "approved"]),
                name="one_working_proposal_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal.number} v{self.number}"

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE


class ProposalLine(models.Model):
    version = models.ForeignKey(ProposalVersion, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    catalogue_item = models.ForeignKey(
        "sales.CatalogueItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.TextField()
    quantity = models.DecimalField(default=1, **QUANTITY)
    unit = models.CharField(max_length=30, blank=True)
    unit_price = models.DecimalField(**PRICE)
    discount_percent = models.DecimalField(default=0, **RATE)
    tax_rate = models.DecimalField(default=0, **RATE)
    tax_category = models.CharField(
        max_length=2, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    option = models.CharField(max_length=50, blank=True, help_text="Option key; blank = always")
    net_amount = models.DecimalField(default=0, **AMOUNT)

    class Meta:
        ordering = ["version", "position", "id"]

    def __str__(self) -> str:
        return self.description[:60]


class ProposalApproval(TimestampedModel):
    """A request for internal approval of one version's exact content (``content_hash``)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled (the version changed)"

    version = models.ForeignKey(ProposalVersion, on_delete=models.CASCADE, related_name="approvals")
    reasons = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Approval of {self.version} ({self.status})"


class ProposalComment(TimestampedModel):
    """One thread per proposal, shared by the client (through the link) and the team."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="comments")
    version = models.ForeignKey(
        ProposalVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_client = models.BooleanField(default=False)
    client_name = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    internal = models.BooleanField(default=False, help_text="Team only; the client never sees it")
    requests_change = models.BooleanField(default=False)
    mentions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.author_name}: {self.body[:40]}"

    @property
    def author_name(self) -> str:
        if self.is_client:
            return self.client_name or "Client"
        return str(self.author) if self.author else "Team"


def attachment_path(instance: CommentAttachment, filename: str) -> str:
    # A random folder per file: names never collide and are not guessable from the proposal.
    return f"sales/attachments/{uuid.uuid4().hex}/{PurePosixPath(filename).name}"


class CommentAttachment(TimestampedModel):
    comment = models.ForeignKey(
        ProposalComment, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.original_name


class ProposalAcceptance(models.Model):
    """The client's acceptance: which version, which options, the amounts, who and from where."""

    proposal = models.OneToOneField(Proposal, on_delete=models.PROTECT, related_name="acceptance")
    version = models.ForeignKey(ProposalVersion, on_delete=models.PROTECT, related_name="+")
    selected_options = models.JSONField(default=list)
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    accepted_at = models.DateTimeField()
    currency = models.CharField(max_length=3)
    net_total = models.DecimalField(**AMOUNT)
    tax_total = models.DecimalField(**AMOUNT)
    gross_total = models.DecimalField(**AMOUNT)
    content_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.proposal} accepted by {self.name}"
