"""Availability of a person, their time off, and the meetings booked with them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel
from throughline.core.models.organization import default_working_hours, validate_time_zone


class Availability(TimestampedModel):
    """When one user can be booked, in their own time zone; their public page's settings.

    ``weekly_hours`` has the shape of the organization's working hours: ISO weekday (1 =
    Monday) → ``["09:00", "17:00"]`` in ``time_zone``'s wall-clock time.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability"
    )
    slug = models.SlugField(max_length=60, unique=True, help_text="The page is /b/<slug>")
    title = models.CharField(max_length=200, default="Introductory call")
    intro = models.TextField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    weekly_hours = models.JSONField(default=default_working_hours, blank=True)
    meeting_minutes = models.PositiveSmallIntegerField(default=30)
    slot_step_minutes = models.PositiveSmallIntegerField(default=30)
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=0)
    min_notice_minutes = models.PositiveIntegerField(default=240)
    max_per_day = models.PositiveSmallIntegerField(default=6, help_text="0 = no limit")
    horizon_days = models.PositiveSmallIntegerField(default=30)
    location = models.CharField(max_length=300, blank=True, help_text="Address or video link")
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "availabilities"
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.user} (/b/{self.slug})"


class TimeOff(models.Model):
    """A period a user is away: no bookings, no new leads routed to them."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_off"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["user", "ends_at"], name="timeoff_user_ends")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="timeoff_ends_after"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} away {self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d}"


class Meeting(TimestampedModel):
    """A booked meeting between a user (host) and a contact, about a lead."""

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CANCELLED = "cancelled", "Cancelled"

    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="meetings"
    )
    contact = models.ForeignKey("crm.Contact", on_delete=models.CASCADE, related_name="+")
    lead = models.ForeignKey(
        "intake.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activity = models.ForeignKey(
        "crm.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.BOOKED)
    attendee_name = models.CharField(max_length=200)
    attendee_email = models.EmailField()
    attendee_time_zone = models.CharField(max_length=64, default="UTC")
    message = models.TextField(blank=True)
    location = models.CharField(max_length=300, blank=True)
    ical_uid = models.CharField(max_length=120, unique=True, default="")
    # iCalendar SEQUENCE: bumped on every reschedule or cancel, so calendars update the event
    # and reminders queued for an older time see they are stale.
    sequence = models.PositiveIntegerField(default=0)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            # The last word against double booking: one live meeting per host and start.
            models.UniqueConstraint(
                fields=["host", "starts_at"],
                condition=Q(status="booked"),
                name="uniq_booked_meeting_host_start",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start"
            ),
        ]
        indexes = [models.Index(fields=["host", "status", "starts_at"], name="meeting_host_time")]

    def save(self, *args, **kwargs):
        if not self.ical_uid:
            self.ical_uid = f"{uuid.uuid4()}@throughline"
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return f"{self.title} with {self.attendee_name} at {self.starts_at:%Y-%m-%d %H:%M} UTC"

    @property
    def is_booked(self) -> bool:
        return self.status == self.Status.BOOKED
