"""Contacts, companies, what happened to them (activities), what to do next (tasks)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(max_length=7, default="#64748b")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(models.Model):
    """A typed field the organization adds to contacts, companies (and later leads, deals)."""

    class Entity(models.TextChoices):
        CONTACT = "contact", "Contact"
        COMPANY = "company", "Company"
        LEAD = "lead", "Lead"
        DEAL = "deal", "Deal"

    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        BOOLEAN = "boolean", "Yes / no"

    entity = models.CharField(max_length=16, choices=Entity.choices)
    key = models.SlugField(max_length=50, help_text="Stable name used in the API and imports")
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values for a choice")
    required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["entity", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "key"], name="uniq_custom_field_key")
        ]

    def __str__(self) -> str:
        return f"{self.get_entity_display()}: {self.label}"


class Company(TimestampedModel):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True, db_index=True)
    website = models.URLField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    vat_id = models.CharField("VAT id", max_length=40, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return self.name


class Contact(TimestampedModel):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(blank=True)
    # Normalized for matching (lower-cased, IDNA domain); unique when present.
    email_normalized = models.CharField(max_length=254, blank=True, db_index=True)
    phone = models.CharField(max_length=32, blank=True, help_text="E.164")
    title = models.CharField("job title", max_length=100, blank=True)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    custom = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["last_name", "first_name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["email_normalized"],
                condition=~Q(email_normalized=""),
                name="uniq_contact_email_normalized",
            )
        ]
        indexes = [models.Index(fields=["phone"]), models.Index(fields=["last_name", "first_name"])]

    def __str__(self) -> str:
        return self.full_name or self.email or self.phone or "(unnamed contact)"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Activity(TimestampedModel):
    """Something that happened with a contact: a note, call, e-mail or meeting."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        MEETING = "meeting", "Meeting"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NOTE)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="activities"
    )
    # SET_NULL: deleting a company must not delete its people's history.
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    direction = models.CharField(max_length=8, blank=True, help_text="in / out for calls, e-mail")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at"]
        verbose_name_plural = "activities"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject or self.body[:40]}"


class Task(TimestampedModel):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Which record of another app made it (e.g. "intake.lead:<id>"), for SLA and timelines.
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["done_at", "due_at", "-created_at"]
        indexes = [models.Index(fields=["owner", "done_at", "due_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class ConsentRecord(models.Model):
    """Evidence that a contact gave (or withdrew) consent for a purpose, append-only."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=64, help_text="e.g. marketing, terms, privacy")
    granted = models.BooleanField(default=True)
    wording = models.TextField(blank=True, help_text="The exact text the person agreed to")
    wording_version = models.CharField(max_length=32)
    source = models.CharField(max_length=100, help_text="Form, import, API, e-mail …")
    ip = models.GenericIPAddressField(null=True, blank=True)
    recorded_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        verb = "granted" if self.granted else "withdrew"
        return f"{self.contact} {verb} {self.purpose} (v{self.wording_version})"
