"""Gapless document numbers: INV-2025-00001, CN-2025-00001, per document type and year.

``next_number`` must run inside the issuing transaction. It makes sure the year's counter row
exists (``INSERT … ON CONFLICT DO NOTHING``, so two first issuers of a year do not collide),
then locks it with ``SELECT … FOR UPDATE``: a concurrent issuer waits until this transaction
commits or rolls back, then reads the value it left. A rolled-back issue gives its number back,
so there is never a gap; the unique index on ``Invoice.number`` is the last line of defence
against a duplicate. On SQLite the whole database has one writer at a time, which serializes
issuers the same way.

Numbers follow dates: within a series, an invoice may not be dated before the last one issued
(many VAT regimes require chronological numbering), checked under the same lock.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.billing.models import DocumentType, NumberSequence

PREFIXES = {DocumentType.INVOICE: "INV", DocumentType.CREDIT_NOTE: "CN"}
DIGITS = 5


def format_number(document_type: str, year: int, value: int) -> str:
    return f"{PREFIXES[document_type]}-{year}-{value:0{DIGITS}d}"


def next_number(document_type: str, issue_date: dt.date) -> str:
    """Take the next number of the series for ``issue_date``'s year (locks the counter)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("next_number() must run inside the issuing transaction")
    year = issue_date.year
    NumberSequence.objects.bulk_create(
        [NumberSequence(document_type=document_type, year=year, last=0)], ignore_conflicts=True
    )
    sequence = NumberSequence.objects.select_for_update().get(
        document_type=document_type, year=year
    )
    latest = sequence.last_date
    if latest is not None and issue_date < latest:
        raise ValidationError(
            {
                "issue_date": [
                    f"Numbers follow dates: the last {PREFIXES[document_type]} of {year} is "
                    f"dated {latest.isoformat()}, so this one cannot be dated earlier."
                ]
            }
        )
    sequence.last += 1
    sequence.last_date = issue_date
    sequence.save(update_fields=["last", "last_date"])
    return format_number(document_type, year, sequence.last)
