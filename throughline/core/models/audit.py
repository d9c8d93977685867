from django.conf import settings
from django.db import models


class Channel(models.TextChoices):
    UI = "ui", "Staff UI"
    API = "api", "API"
    PORTAL = "portal", "Client portal"
    WEBHOOK = "webhook", "Webhook"
    WORKER = "worker", "Worker"
    CLI = "cli", "Command line"
    SYSTEM = "system", "System"


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):  # pragma: no cover - guard
        raise TypeError("The audit log is append-only.")

    def delete(self):  # pragma: no cover - guard
        raise TypeError("The audit log is append-only.")


class AuditEntry(models.Model):
    """One business write, append-only and hash-chained (see core.audit_log)."""

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    object_type = models.CharField(max_length=64, db_index=True)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class AuditChainHead(models.Model):
    """Single row locked while appending, so the chain stays linear under concurrency."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_hash = models.CharField(max_length=64)
    last_seq = models.BigIntegerField(default=0)
