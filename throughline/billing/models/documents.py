"""The files an issued document was sent as, kept byte for byte (the legal archive copy)."""

from __future__ import annotations

from django.db import models


def document_path(instance: InvoiceDocument, filename: str) -> str:
    return f"billing/{instance.invoice.issue_date:%Y}/{filename}"


class InvoiceDocument(models.Model):
    class Kind(models.TextChoices):
        FACTURX_PDF = "facturx_pdf", "Factur-X PDF/A-3"
        UBL = "ubl", "UBL 2.1 XML"

    invoice = models.ForeignKey(
        "billing.Invoice", on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    file = models.FileField(upload_to=document_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "kind"], name="uniq_invoice_document")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.invoice}"
