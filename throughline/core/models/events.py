from django.conf import settings
from django.db import models


class DomainEvent(models.Model):
    """Outbox row: written in the same transaction as the change it describes."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16, blank=True)
    occurred_at = models.DateTimeField(db_index=True)
    depth = models.PositiveSmallIntegerField(default=0, help_text="Causal chain depth")

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.name} {self.subject_type}:{self.subject_id}"


class HandledEvent(models.Model):
    """Marks an event as handled by one handler; written with the handler's own effects."""

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="handled")
    handler = models.CharField(max_length=200)
    handled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "handler"], name="uniq_event_handler")
        ]
