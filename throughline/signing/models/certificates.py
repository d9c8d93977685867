"""The organization's sealing certificate (self-signed at set-up, or an uploaded PKCS#12).

The private key is stored encrypted (AES-256-GCM, key derived from ``SECRET_KEY``): a copy of
the database alone does not give the key away. Rotating ``SECRET_KEY`` makes it unreadable —
generate or upload the certificate again then (docs/SIGNING.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from throughline.core.models.base import TimestampedModel


class SigningCertificate(TimestampedModel):
    class Kind(models.TextChoices):
        SELF_SIGNED = "self_signed", "Self-signed (generated here)"
        UPLOADED = "uploaded", "Uploaded (PKCS#12)"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    active = models.BooleanField(default=True)
    subject = models.CharField(max_length=500)
    issuer = models.CharField(max_length=500)
    serial_number = models.CharField(max_length=100)
    fingerprint_sha256 = models.CharField(max_length=64, unique=True)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    certificate_pem = models.TextField()
    # Intermediate (and root) certificates, PEM, embedded in every seal.
    chain_pem = models.TextField(blank=True)
    key_ciphertext = models.BinaryField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="one_active_signing_certificate"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.get_kind_display()})"
