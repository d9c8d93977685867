"""Storing a statement file's lines once: parse everything first, then one transaction."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any

from django.db import IntegrityError, transaction

from throughline.billing.models import CsvMapping, StatementImport, StatementLine
from throughline.billing.services.statements import camt053, csv_file, ofx_file
from throughline.billing.services.statements.common import (
    MAX_BYTES,
    ParsedLine,
    StatementError,
    dedup_key,
)
from throughline.core import audit_log
from throughline.core.actor import Actor

Format = StatementImport.Format


def detect_format(filename: str, content: bytes) -> str:
    head = content[:4096].lstrip().lower()
    name = (filename or "").lower()
    if name.endswith((".ofx", ".qfx")) or b"<ofx>" in head or b"ofxheader" in head:
        return Format.OFX
    if name.endswith(".xml") or head.startswith(b"<?xml") or b"camt.053" in head:
        return Format.CAMT
    return Format.CSV


def csv_mapping(
    content: bytes, mapping: dict[str, Any] | None
) -> tuple[csv_file.Mapping, list[str]]:
    """The mapping given, else the one remembered for this header, else a guess."""
    header, _rows = csv_file.read_rows(content)
    if mapping:
        columns = {k: v for k, v in (mapping.get("columns") or {}).items() if v}
        return (
            csv_file.Mapping(
                columns=columns,
                decimal_comma=bool(mapping.get("decimal_comma")),
                date_format=str(mapping.get("date_format") or ""),
                default_currency=str(mapping.get("default_currency") or "").upper(),
            ),
            header,
        )
    known = CsvMapping.objects.filter(header_key=csv_file.header_key(header)).first()
    if known is not None:
        return (
            csv_file.Mapping(
                columns=known.columns,
                decimal_comma=known.decimal_comma,
                date_format=known.date_format,
                default_currency=known.default_currency,
            ),
            header,
        )
    return csv_file.Mapping(columns=csv_file.guess_columns(header)), header


def parse_file(
    content: bytes, fmt: str, account: str = "", mapping: dict | None = None
) -> tuple[list[ParsedLine], csv_file.Mapping | None, list[str]]:
    if not content:
        raise StatementError("The file is empty.")
    if len(content) > MAX_BYTES:
        raise StatementError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    if fmt == Format.OFX:
        return ofx_file.parse(content, account), None, []
    if fmt == Format.CAMT:
        return camt053.parse(content, account), None, []
    if fmt == Format.CSV:
        used, header = csv_mapping(content, mapping)
        return csv_file.parse(content, used, account), used, header
    raise StatementError(f"Unknown statement format {fmt!r}.")


@transaction.atomic
def import_statement(
    actor: Actor,
    *,
    content: bytes,
    filename: str,
    fmt: str | None = None,
    account: str = "",
    mapping: dict[str, Any] | None = None,
) -> StatementImport:
    """Import a statement; lines seen before (by bank entry id or facts) are skipped."""
    account = " ".join((account or "").split()).replace(" ", "")[:64]
    fmt = fmt or detect_format(filename, content)
    parsed, used_mapping, header = parse_file(content, fmt, account, mapping)
    occurrences: Counter = Counter()
    keyed: dict[str, ParsedLine] = {}
    for line in parsed:
        facts = (line.account, line.booked_on, line.amount, line.currency, line.reference)
        occurrences[(*facts, line.counterparty.casefold())] += 1
        occurrence = occurrences[(*facts, line.counterparty.casefold())]
        keyed.setdefault(dedup_key(line, occurrence), line)
    known: set[str] = set()
    keys = list(keyed)
    for start in range(0, len(keys), 900):
        known.update(
            StatementLine.objects.filter(dedup_key__in=keys[start : start + 900]).values_list(
                "dedup_key", flat=True
            )
        )
    statement = StatementImport.objects.create(
        filename=(filename or "statement")[:255],
        format=fmt,
        account=account or (parsed[0].account if parsed else ""),
        line_count=len(keyed) - len(known),
        duplicate_count=len(parsed) - (len(keyed) - len(known)),
        uploaded_by=actor.user,
    )
    rows = [
        StatementLine(
            statement=statement,
            dedup_key=key,
            status=StatementLine.Status.UNMATCHED
            if line.amount > 0
            else StatementLine.Status.DEBIT,
            **asdict(line),
        )
        for key, line in keyed.items()
        if key not in known
    ]
    try:
        with transaction.atomic():
            StatementLine.objects.bulk_create(rows, batch_size=1000)
    except IntegrityError as exc:
        raise StatementError(
            "The same statement is being imported at this moment; try again."
        ) from exc
    if used_mapping is not None:
        CsvMapping.objects.update_or_create(
            header_key=csv_file.header_key(header),
            defaults={
                "header": header,
                "columns": used_mapping.columns,
                "decimal_comma": used_mapping.decimal_comma,
                "date_format": used_mapping.date_format or "%Y-%m-%d",
                "default_currency": used_mapping.default_currency,
            },
        )
    audit_log.record(
        actor,
        "statement.imported",
        statement,
        changes={
            "filename": [None, statement.filename],
            "format": [None, fmt],
            "lines": [None, statement.line_count],
            "duplicates": [None, statement.duplicate_count],
        },
    )
    return statement
