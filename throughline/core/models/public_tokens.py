from django.db import models


class PublicToken(models.Model):
    """A magic link's secret, for one scope and one record. Only its SHA-256 is stored.

    Written and read through ``throughline.core.public_tokens`` (issue, resolve, revoke).
    """

    token_hash = models.CharField(max_length=64, unique=True)
    scope = models.CharField(max_length=40, help_text="What the link opens, e.g. proposal")
    object_type = models.CharField(max_length=100, help_text="app_label.model of the record")
    object_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["scope", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.scope} link for {self.object_type}:{self.object_id}"
