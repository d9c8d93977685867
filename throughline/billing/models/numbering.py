"""Per document type and year counters for gapless invoice numbers (services/numbering.py)."""

from __future__ import annotations

from django.db import models


class NumberSequence(models.Model):
    """The last number given for one document type in one year.

    Taken with ``SELECT … FOR UPDATE`` in the issuing transaction: a rolled-back issue gives
    its number back, and two issuers never read the same value.
    """

    document_type = models.CharField(max_length=12)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)
    last_date = models.DateField(null=True, blank=True, help_text="Issue date of the last one")

    class Meta:
        ordering = ["document_type", "year"]
        constraints = [
            models.UniqueConstraint(fields=["document_type", "year"], name="uniq_number_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.year}: {self.last}"
