"""Leads, where they come from, and the people they might duplicate.

A ``Lead`` is one inquiry. The person behind it is always a ``crm.Contact`` (DESIGN §3: the
one record that later carries the deal, the contract and the invoice); a second inquiry from
a known person is a second lead on the same contact.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel


class LeadSource(models.Model):
    """Where leads come from ("website", "google-ads", "partner-referral" …).

    Until routing rules exist (issue 5) a source names the default owner, and it sets the
    first-response SLA in working minutes.
    """

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sla_minutes = models.PositiveIntegerField(
        default=5, help_text="First response due within this many working minutes."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Lead(TimestampedModel):
    class Channel(models.TextChoices):
        FORM = "form", "Web form"
        API = "api", "API"
        WEBHOOK = "webhook", "Webhook"
        EMAIL = "email", "E-mail"
        CALL = "call", "Phone call"
        IMPORT = "import", "Import"
        MANUAL = "manual", "Manual entry"
        REFERRAL = "referral", "Referral"

    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        NURTURING = "nurturing", "Nurturing"
        REJECTED = "rejected", "Rejected"
        CONVERTED = "converted", "Converted"

    # Statuses in which the lead still waits for us (SLA sweep, inbox "open" view).
    OPEN_STATUSES = (Status.NEW, Status.CONTACTED, Status.QUALIFIED, Status.NURTURING)

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="leads")
    company = models.ForeignKey(
        "crm.Company", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    source = models.ForeignKey(LeadSource, on_delete=models.PROTECT, related_name="leads")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    status_reason = models.CharField(max_length=300, blank=True)

    # What the person gave us, normalized; the contact keeps its own (possibly older) values.
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164")
    company_name = models.CharField(max_length=200, blank=True)
    website = models.CharField(max_length=200, blank=True)
    title = models.CharField("job title", max_length=100, blank=True)
    message = models.TextField(blank=True)

    utm = models.JSONField(default=dict, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)
    raw = models.JSONField(null=True, blank=True, help_text="The payload as the channel got it")
    custom = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # A channel's own id for the inquiry (form submission, webhook lead id, import row hash):
    # capturing the same one twice returns the first lead.
    external_id = models.CharField(max_length=200, blank=True)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    score = models.IntegerField(default=0)
    # Scoring and qualification (intake.scoring): the tier of the rules score, the rubric's
    # outcome with its reasons, the learned model's conversion probability, the deal it became.
    tier = models.CharField(max_length=8, blank=True, help_text="hot / warm / cold")
    qualification = models.JSONField(default=dict, blank=True)
    conversion_probability = models.FloatField(null=True, blank=True)
    converted_deal_id = models.UUIDField(null=True, blank=True, unique=True)
    received_at = models.DateTimeField(help_text="When the inquiry arrived")
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)

    matched_on = models.CharField(
        max_length=8, blank=True, help_text="email / phone when the person was already known"
    )
    contact_created = models.BooleanField(default=False)
    duplicate_of = models.ForeignKey(
        "crm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="An existing contact this lead's person probably is (open question)",
    )
    duplicate_confidence = models.FloatField(null=True, blank=True)
    referred_by = models.ForeignKey(
        "crm.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referrals",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_lead_external_id_per_source",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="lead_status_created"),
            models.Index(fields=["owner", "status"], name="lead_owner_status"),
            models.Index(fields=["-received_at"], name="lead_received"),  # the inbox's order
            # The SLA sweep: unanswered leads by due time.
            models.Index(
                fields=["sla_due_at"],
                condition=Q(first_response_at__isnull=True, sla_breached_at__isnull=True),
                name="lead_sla_pending",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip() or self.email or self.phone
        return f"Lead from {name or 'unknown'}"

    @property
    def display_name(self) -> str:
        return (
            f"{self.first_name} {self.last_name}".strip() or self.email or self.phone or "(no name)"
        )

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def task_source(self) -> str:
        """``crm.Task.source`` / ``OutboundMessage.source`` of what this lead caused."""
        return f"intake.lead:{self.pk}"


class PossibleDuplicate(models.Model):
    """A lead's (new) contact that looks like an existing one, awaiting a person's decision."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Not a duplicate"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="possible_duplicates")
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="+", help_text="The lead's contact"
    )
    candidate = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="+", help_text="The existing one"
    )
    confidence = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-created_at"], name="dup_status_created")]

    def __str__(self) -> str:
        return f"{self.contact_id} ~ {self.candidate_id} ({self.confidence:.2f})"


class ContactMerge(models.Model):
    """History of a merge: the removed contact's id and last state, kept with the survivor.

    Audit entries are append-only and keep the removed contact's id; this row lets the
    survivor's timeline show them (``intake.timeline``).
    """

    survivor = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    merged_contact_id = models.UUIDField(db_index=True)
    merged_repr = models.CharField(max_length=200)
    snapshot = models.JSONField(default=dict)
    moved = models.JSONField(default=dict, help_text="Records re-pointed, per kind")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField()

    class Meta:
        ordering = ["-merged_at"]

    def __str__(self) -> str:
        return f"{self.merged_repr} → {self.survivor_id}"


class ContactKey(models.Model):
    """Blocking keys of a contact for likely-match search (``intake.dedup``).

    A new person is compared only with contacts that share one of its keys, so finding
    candidates is an index lookup whatever the number of contacts.

    Each row also carries the contact's compacted names (``matching.comparison_names``) and
    what says where they work (``dedup.org_signature``), so the candidates of a key can be
    screened on the surname and the organization straight from the index (covering on
    PostgreSQL) before any contact row is read. Empty means unknown: the row is kept.
    """

    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=120)
    first = models.CharField(max_length=100, blank=True, default="")
    last = models.CharField(max_length=100, blank=True, default="")
    org = models.CharField(max_length=600, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["key"],
                include=["contact", "first", "last", "org"],
                name="contact_key_cover_org",
            )
        ]
        constraints = [models.UniqueConstraint(fields=["contact", "key"], name="uniq_contact_key")]


class CompanyKey(models.Model):
    """Normalized name (legal suffixes stripped) and domain of a company, for matching."""

    company = models.ForeignKey("crm.Company", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=220)

    class Meta:
        indexes = [models.Index(fields=["key"], name="company_key_key")]
        constraints = [models.UniqueConstraint(fields=["company", "key"], name="uniq_company_key")]
