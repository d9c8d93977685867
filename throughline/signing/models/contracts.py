"""Contract templates (governed like proposal templates), contracts and the signing settings.

A contract is made from an ACCEPTED proposal version: with a contract template (clauses in
front, the accepted proposal as its schedule) or, when the organization prefers one document,
the accepted proposal itself. While a draft it may change (title, template, signers); sending
it freezes the parties and renders the PDF the signers see (``SigningRequest.document``).
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from throughline.core.models.base import SingletonModel, TimestampedModel


class ContractTemplate(TimestampedModel):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def approved_version(self) -> ContractTemplateVersion | None:
        """The newest approved version: what new contracts use."""
        return (
            self.versions.filter(status=ContractTemplateVersion.Status.APPROVED)
            .order_by("-number")
            .first()
        )

    def working_version(self) -> ContractTemplateVersion | None:
        return (
            self.versions.filter(status__in=ContractTemplateVersion.OPEN_STATUSES)
            .order_by("-number")
            .first()
        )


class ContractTemplateVersion(TimestampedModel):
    """One version of a template's clauses; usable once approved, never changed after."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Waiting for approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    OPEN_STATUSES = (Status.DRAFT, Status.SUBMITTED)

    template = models.ForeignKey(
        ContractTemplate, on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # [{"title": str, "body": sanitized HTML with merge fields}]
    clauses = models.JSONField(default=list, blank=True)
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
            models.UniqueConstraint(
                fields=["template", "number"], name="uniq_contract_template_version"
            ),
            models.UniqueConstraint(
                fields=["template"],
                condition=Q(status__in=["draft", "submitted"]),
                name="one_open_contract_template_version",
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


class ContractNumber(models.Model):
    """Per-year counter for contract numbers (C-2025-0001), taken under a row lock."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Contract(TimestampedModel):
    class Kind(models.TextChoices):
        CONTRACT = "contract", "Contract from a template, the proposal as its schedule"
        PROPOSAL = "proposal", "The accepted proposal itself"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENT = "sent", "Out for signature"
        SIGNED = "signed", "Signed"
        DECLINED = "declined", "Declined"
        VOIDED = "voided", "Voided"
        EXPIRED = "expired", "Expired"

    # A contract in one of these may be changed and sent (again).
    EDITABLE = (Status.DRAFT, Status.DECLINED, Status.EXPIRED)

    number = models.CharField(max_length=20, unique=True)
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CONTRACT)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    deal = models.ForeignKey("sales.Deal", on_delete=models.PROTECT, related_name="+")
    proposal = models.ForeignKey("sales.Proposal", on_delete=models.PROTECT, related_name="+")
    proposal_version = models.ForeignKey(
        "sales.ProposalVersion", on_delete=models.PROTECT, related_name="+"
    )
    selected_options = models.JSONField(default=list, blank=True)
    template_version = models.ForeignKey(
        ContractTemplateVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who signs, in which order: [{"contact": id} | {"user": id}, "order": n}] (see services).
    signer_plan = models.JSONField(default=list, blank=True)
    sequential = models.BooleanField(
        default=True, help_text="Signers sign in order; off: everyone at once"
    )
    # Frozen when sent (DESIGN §3): parties, rendered clauses.
    parties = models.JSONField(default=dict, blank=True)
    rendered = models.JSONField(default=dict, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    def current_request(self):
        return self.requests.order_by("-created_at").first()


class SigningSettings(SingletonModel):
    """How this organization signs (one row): document kind, defaults, timestamping."""

    class Level(models.TextChoices):
        B_B = "B-B", "PAdES B-B (signature only)"
        B_T = "B-T", "PAdES B-T (with an RFC 3161 timestamp)"
        B_LT = "B-LT", "PAdES B-LT (timestamp and long-term validation data)"

    document_kind = models.CharField(
        max_length=10, choices=Contract.Kind.choices, default=Contract.Kind.CONTRACT
    )
    default_template = models.ForeignKey(
        ContractTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    draft_on_acceptance = models.BooleanField(
        default=False, help_text="Make a contract draft when a client accepts a proposal"
    )
    countersigner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who signs for us (default: the deal's owner)",
    )
    link_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    reminder_days = models.PositiveSmallIntegerField(
        default=3,
        validators=[MaxValueValidator(60)],
        help_text="Remind unsigned signers every this many days (0: never)",
    )
    pades_level = models.CharField(max_length=4, choices=Level.choices, default=Level.B_B)
    tsa_url = models.URLField(
        "timestamp authority (RFC 3161) URL", blank=True, help_text="Needed for B-T and B-LT"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "signing settings"

    def __str__(self) -> str:
        return "Signing settings"
