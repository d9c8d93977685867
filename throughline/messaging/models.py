"""E-mail templates, every outbound message (a durable ledger), and the suppression list."""

from __future__ import annotations

import uuid

from django.db import models

from throughline.core.models.base import TimestampedModel


class Kind(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional (replies, documents, reminders)"
    MARKETING = "marketing", "Marketing (needs consent, honours unsubscribe)"


class EmailTemplate(TimestampedModel):
    key = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRANSACTIONAL)
    subject = models.CharField(max_length=300)
    body_text = models.TextField(help_text="Merge fields like {{ contact.first_name }}")
    body_html = models.TextField(blank=True, help_text="Optional; sanitized when rendered")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OutboundMessage(TimestampedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Not sent (suppressed or no consent)"

    to_email = models.EmailField()
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TRANSACTIONAL)
    template_key = models.CharField(max_length=80, blank=True)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    from_email = models.CharField(max_length=300, blank=True)
    reply_to = models.EmailField(blank=True)
    message_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    status_reason = models.CharField(max_length=300, blank=True)
    # Which record asked for it (e.g. "intake.lead:<id>"); used for timelines and stop rules.
    source = models.CharField(max_length=120, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    unsubscribe_token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to_email}"


class Suppression(models.Model):
    """Addresses we must not send marketing to (unsubscribed) or anything to (bounced)."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINT = "complaint", "Spam complaint"
        MANUAL = "manual", "Added by staff"

    email_normalized = models.CharField(max_length=254, unique=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email_normalized} ({self.reason})"

    @property
    def blocks_transactional(self) -> bool:
        return self.reason in {self.Reason.BOUNCED, self.Reason.COMPLAINT}
