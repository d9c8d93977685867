"""The signing ceremony: one request per sending, its signers, and the evidence trail.

A ``SigningRequest`` is one sending of a contract: the exact PDF bytes the signers see (with
their SHA-256), who signs in which order, until when. Declining, voiding or expiry end it; the
contract may then be corrected and sent again as a new request, and links of the old one stop
working. ``SignatureEvidence`` rows are append-only and hash-chained per request.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from throughline.core.models.base import TimestampedModel


def _document_path(instance: SigningRequest, filename: str) -> str:
    return f"signing/{instance.pk}/{filename}"


class SigningRequest(TimestampedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Out for signature"
        SEALING = "sealing", "Signed by all, being sealed"
        COMPLETED = "completed", "Completed"
        DECLINED = "declined", "Declined"
        VOIDED = "voided", "Voided"
        EXPIRED = "expired", "Expired"

    contract = models.ForeignKey(
        "signing.Contract", on_delete=models.PROTECT, related_name="requests"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    sequential = models.BooleanField(default=True)
    message = models.TextField(blank=True)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(db_index=True)
    # What every signer sees and signs: these bytes, this hash.
    document = models.FileField(upload_to=_document_path, max_length=300)
    document_sha256 = models.CharField(max_length=64)
    document_pages = models.PositiveIntegerField(default=0)
    consent_version = models.CharField(max_length=40)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The final PDF: the document, the signature certificate pages, one PAdES seal.
    sealed_document = models.FileField(upload_to=_document_path, max_length=300, blank=True)
    sealed_sha256 = models.CharField(max_length=64, blank=True)
    seal_level = models.CharField(max_length=4, blank=True)
    seal_certificate = models.ForeignKey(
        "signing.SigningCertificate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Signing of {self.contract} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class Signer(TimestampedModel):
    class Role(models.TextChoices):
        CLIENT = "client", "Client"
        COUNTERSIGNER = "countersigner", "Countersigner (us)"

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for earlier signers"
        INVITED = "invited", "Invited"
        VIEWED = "viewed", "Viewed"
        SIGNED = "signed", "Signed"
        DECLINED = "declined", "Declined"

    class SignatureKind(models.TextChoices):
        TYPED = "typed", "Typed name"
        DRAWN = "drawn", "Drawn"

    request = models.ForeignKey(SigningRequest, on_delete=models.CASCADE, related_name="signers")
    order = models.PositiveSmallIntegerField(default=1)
    role = models.CharField(max_length=14, choices=Role.choices, default=Role.CLIENT)
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=200)
    email = models.EmailField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    invited_at = models.DateTimeField(null=True, blank=True)
    first_viewed_at = models.DateTimeField(null=True, blank=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    # One-time code: only its keyed hash; the code itself exists only in the e-mail.
    otp_hash = models.CharField(max_length=64, blank=True)
    otp_request_nonce = models.CharField(max_length=32, blank=True)
    otp_expires_at = models.DateTimeField(null=True, blank=True)
    otp_attempts = models.PositiveSmallIntegerField(default=0)
    otp_requested_at = models.DateTimeField(null=True, blank=True)
    otp_window_started_at = models.DateTimeField(null=True, blank=True)
    otp_window_count = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)
    # The browser that passed the code holds a signed cookie carrying this nonce.
    session_nonce = models.CharField(max_length=32, blank=True)
    consent_version = models.CharField(max_length=40, blank=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signature_kind = models.CharField(max_length=5, choices=SignatureKind.choices, blank=True)
    signature_text = models.CharField(max_length=200, blank=True)
    signature_png = models.BinaryField(blank=True, default=b"")
    signature_sha256 = models.CharField(max_length=64, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["request", "order", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "email"], name="uniq_signer_email")
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    @property
    def is_done(self) -> bool:
        return self.status in (self.Status.SIGNED, self.Status.DECLINED)


class SignatureEvidence(models.Model):
    """One step of the ceremony, as it happened. Append-only; each row hashes the one before."""

    class Event(models.TextChoices):
        SENT = "request.sent", "Sent for signature"
        INVITED = "signer.invited", "Invitation e-mail queued"
        LINK_OPENED = "link.opened", "Signing link opened"
        OTP_REQUESTED = "otp.requested", "One-time code requested"
        OTP_SENT = "otp.sent", "One-time code generated and e-mailed"
        OTP_CHECKED = "otp.checked", "One-time code checked"
        CONSENT = "consent.given", "Consent to sign electronically"
        DOCUMENT_SHOWN = "document.shown", "Full document shown"
        DOCUMENT_DOWNLOADED = "document.downloaded", "Document PDF downloaded"
        SIGNED = "signed", "Signed"
        REFUSED = "action.refused", "Action refused"
        DECLINED = "declined", "Declined"
        REMINDED = "signer.reminded", "Reminder e-mail queued"
        VOIDED = "request.voided", "Voided by the sender"
        EXPIRED = "request.expired", "Expired"
        COMPLETED = "request.completed", "Signed by everyone"
        SEALED = "document.sealed", "Final document sealed"

    class OtpResult(models.TextChoices):
        NONE = "", "—"
        OK = "ok", "Correct"
        WRONG = "wrong", "Wrong code"
        EXPIRED = "expired", "Code expired"
        LOCKED = "locked", "Too many attempts"
        MISSING = "missing", "No code requested"

    request = models.ForeignKey(SigningRequest, on_delete=models.PROTECT, related_name="evidence")
    signer = models.ForeignKey(
        Signer, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence"
    )
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    event = models.CharField(max_length=24, choices=Event.choices)
    actor_label = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    otp_result = models.CharField(max_length=8, choices=OtpResult.choices, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    consent_sha256 = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["request", "seq"]
        constraints = [models.UniqueConstraint(fields=["request", "seq"], name="uniq_evidence_seq")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.event}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise RuntimeError("Signature evidence is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Signature evidence is append-only.")
