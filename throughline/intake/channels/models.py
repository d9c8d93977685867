"""What the channels keep beside the leads they capture: their configuration and ledgers.

* ``IntakeForm`` / ``FormField`` / ``ConsentWording``: hosted forms built by staff; consent
  wordings are append-only versions, so the version a person saw is the one recorded.
* ``WebhookSource`` / ``WebhookDelivery``: per-source secrets (rotatable, with an overlap) and
  a ledger of accepted deliveries (a replayed body is answered from it, creating nothing).
* ``InboundMailbox`` / ``InboundEmail`` / ``InboundAttachment``: the per-organization inbound
  address (hook token, optional IMAP account with UID tracking) and every message handled.
* ``CallLog``: calls from the UI or a telephony provider, linked to the lead or activity made.
* ``CsvImport`` / ``CsvMappingPreset``: uploaded files, their report and progress, and the
  column mapping remembered per header set.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel

# The lead fields a channel can fill (``capture.LeadInput``); "custom.<key>" names a lead
# custom field, "full_name" is split into first and last name.
LEAD_TARGETS = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "Full name (split into first and last)",
    "email": "E-mail",
    "phone": "Phone",
    "company": "Company",
    "website": "Website",
    "title": "Job title",
    "message": "Message",
}


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class IntakeForm(TimestampedModel):
    """A public form at ``/f/<slug>`` (HTML, JSON and iframe variants)."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100, help_text="Shown to staff only")
    title = models.CharField(max_length=200, help_text="The heading visitors see")
    intro = models.TextField(blank=True, help_text="A short text above the fields")
    submit_label = models.CharField(max_length=60, default="Send")
    source_slug = models.SlugField(
        "lead source", max_length=50, default="website", help_text="Leads get this source"
    )
    thank_you_text = models.TextField(
        default="Thank you — your message has reached us. We will be in touch shortly."
    )
    redirect_url = models.URLField(
        blank=True, help_text="Send visitors here after sending instead of the thank-you text"
    )
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Sites that may embed the form (iframe) or call its JSON variant",
    )
    min_fill_seconds = models.PositiveSmallIntegerField(
        default=3, help_text="Submissions faster than this are refused as automated"
    )
    submissions_per_hour = models.PositiveSmallIntegerField(
        default=20, help_text="Per visitor address (IP)"
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FormField(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        EMAIL = "email", "E-mail"
        PHONE = "phone", "Phone"
        TEXTAREA = "textarea", "Long text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        CHECKBOX = "checkbox", "Checkbox"
        CONSENT = "consent", "Consent checkbox"

    form = models.ForeignKey(IntakeForm, on_delete=models.CASCADE, related_name="fields")
    key = models.SlugField(max_length=50, help_text="The field's name in posts and JSON")
    label = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=300, blank=True)
    placeholder = models.CharField(max_length=100, blank=True)
    choices = models.JSONField(default=list, blank=True)
    maps_to = models.CharField(
        max_length=60,
        blank=True,
        help_text="Lead field filled by the answer (else the answer is added to the message)",
    )
    consent_purpose = models.CharField(max_length=64, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["form", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "key"], name="uniq_form_field_key")]

    def __str__(self) -> str:
        return f"{self.form.slug}.{self.key}"

    def current_wording(self) -> ConsentWording | None:
        return self.consent_wordings.order_by("-version").first()


class ConsentWording(models.Model):
    """One version of a consent checkbox's text; never changed once people may have seen it."""

    field = models.ForeignKey(FormField, on_delete=models.CASCADE, related_name="consent_wordings")
    version = models.PositiveIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["field", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["field", "version"], name="uniq_consent_wording")
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        """``ConsentRecord.wording_version`` (at most 32 characters): form, field, version."""
        return f"{self.field.form.slug[:14]}.{self.field.key[:10]}.v{self.version}"[-32:]


class WebhookSource(TimestampedModel):
    """A system that posts leads to ``/hooks/leads/<slug>``."""

    class Kind(models.TextChoices):
        GENERIC = "generic", "Generic JSON (field mapping)"
        FACEBOOK = "facebook", "Facebook Lead Ads"
        CALLS = "calls", "Telephony provider (calls hook)"

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GENERIC)
    # Kept in clear: checking an HMAC needs the key itself. Shown once, rotatable.
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    verify_token = models.CharField(
        max_length=100, blank=True, help_text="Answers the source's verification challenge (GET)"
    )
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Lead field → path in the payload, e.g. {"email": "contact.email"}',
    )
    lead_source_slug = models.SlugField(
        max_length=50, blank=True, help_text="Lead source of the leads (default: this slug)"
    )
    is_active = models.BooleanField(default=True)
    last_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def capture_source(self) -> str:
        return self.lead_source_slug or self.slug


class WebhookDelivery(models.Model):
    """An accepted (signature-checked) delivery; the body digest makes replays no-ops."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="deliveries")
    body_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    leads = models.JSONField(default=list, help_text="Ids of the leads the delivery captured")
    response = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "body_sha256"], name="uniq_delivery_body")
        ]

    def __str__(self) -> str:
        return f"{self.source.slug} {self.received_at:%Y-%m-%d %H:%M}"


class InboundMailbox(TimestampedModel):
    """The organization's inbound address: raw MIME by hook, and/or an IMAP account polled."""

    class Security(models.TextChoices):
        SSL = "ssl", "SSL/TLS (port 993)"
        STARTTLS = "starttls", "STARTTLS (port 143)"
        PLAIN = "plain", "None (loopback or trusted network only)"

    address = models.EmailField(unique=True, help_text="e.g. leads@example.com")
    name = models.CharField(max_length=100, blank=True)
    lead_source_slug = models.SlugField(max_length=50, default="email")
    hook_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    hook_token_hint = models.CharField(max_length=8, blank=True)
    imap_enabled = models.BooleanField(default=False)
    imap_host = models.CharField(max_length=200, blank=True)
    imap_port = models.PositiveIntegerField(default=993)
    imap_security = models.CharField(max_length=16, choices=Security.choices, default=Security.SSL)
    imap_username = models.CharField(max_length=200, blank=True)
    # In clear: logging in needs it. Never shown back in the UI.
    imap_password = models.CharField(max_length=200, blank=True)
    imap_folder = models.CharField(max_length=200, default="INBOX")
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    max_attachment_bytes = models.PositiveIntegerField(default=10 * 1024 * 1024)

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "inbound mailboxes"

    def __str__(self) -> str:
        return self.address


class InboundEmail(TimestampedModel):
    """One message received, and what became of it."""

    class Outcome(models.TextChoices):
        LEAD = "lead", "New lead"
        TIMELINE = "timeline", "Added to a contact's timeline"
        AUTO_REPLY = "auto_reply", "Ignored: automatic reply"
        BOUNCE = "bounce", "Ignored: bounce / delivery report"
        IGNORED = "ignored", "Ignored"

    mailbox = models.ForeignKey(InboundMailbox, on_delete=models.CASCADE, related_name="messages")
    message_id = models.CharField(max_length=300, help_text="Message-ID (or a digest)")
    via = models.CharField(max_length=8, help_text="hook / imap")
    imap_uid = models.BigIntegerField(null=True, blank=True)
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    html_sanitized = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=300, blank=True)
    lead = models.ForeignKey(
        "intake.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activity = models.ForeignKey(
        "crm.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "message_id"], name="uniq_inbound_email_message_id"
            ),
            models.UniqueConstraint(
                fields=["mailbox", "imap_uidvalidity", "imap_uid"],
                condition=Q(imap_uid__isnull=False),
                name="uniq_inbound_email_imap_uid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_address}: {self.subject}"


def attachment_path(instance: InboundAttachment, filename: str) -> str:
    return f"inbound/{instance.email_id}/{instance.sha256[:16]}-{filename}"


class InboundAttachment(models.Model):
    email = models.ForeignKey(InboundEmail, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["email", "id"]

    def __str__(self) -> str:
        return self.filename


class CallLog(TimestampedModel):
    """A phone call: logged by a person, or reported by a telephony provider's hook."""

    provider = models.CharField(max_length=40, help_text="ui, or the provider's slug")
    external_id = models.CharField(max_length=200, blank=True)
    direction = models.CharField(max_length=8, default="in")
    caller = models.CharField(max_length=32, help_text="E.164")
    caller_name = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField()
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    recording_url = models.URLField(max_length=1000, blank=True)
    notes = models.TextField(blank=True)
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead = models.ForeignKey(
        "intake.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activity = models.ForeignKey(
        "crm.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "external_id"],
                condition=~Q(external_id=""),
                name="uniq_call_log_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"Call from {self.caller} at {self.started_at:%Y-%m-%d %H:%M}"


class CsvMappingPreset(models.Model):
    """The column mapping last used for a set of headers, offered again next time."""

    header_key = models.CharField(max_length=64, unique=True, help_text="Digest of the headers")
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Header → lead field")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return ", ".join(self.headers)[:80]


def import_upload_path(instance: CsvImport, filename: str) -> str:
    return f"imports/{instance.pk}.csv"


class CsvImport(TimestampedModel):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKED = "checked", "Checked (dry run)"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Mode(models.TextChoices):
        SKIP_INVALID = "skip_invalid", "Skip invalid rows"
        ALL_OR_NOTHING = "all_or_nothing", "All or nothing"

    file = models.FileField(upload_to=import_upload_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_sha256 = models.CharField(max_length=64, db_index=True)
    encoding = models.CharField(max_length=20)
    delimiter = models.CharField(max_length=1)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, blank=True)
    lead_source_slug = models.SlugField(max_length=50, default="import")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.SKIP_INVALID)
    acknowledge = models.BooleanField(
        default=False, help_text="Send each new lead the acknowledgement e-mail"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True, help_text="Dry run counts and rows")
    result = models.JSONField(default=dict, blank=True, help_text="What the run created")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.filename

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))
