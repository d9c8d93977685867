"""CSV statements: the columns are mapped by hand once, then remembered by the header row.

``fields`` of a mapping: date, amount (signed; or credit and debit columns), currency (or a
default currency for the file), counterparty, remittance, reference. Amounts with a decimal
comma (``1.234,56``) are read when the mapping says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from throughline.billing.services.statements.common import (
    MAX_LINES,
    ParsedLine,
    StatementError,
    checked_amount,
    clip,
)

FIELDS = (
    "date",
    "amount",
    "credit",
    "debit",
    "currency",
    "counterparty",
    "remittance",
    "reference",
)
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y%m%d")
# Header names banks commonly use, for a first guess at the mapping.
GUESSES = {
    "date": ("date", "booking date", "booked", "buchungstag", "value date", "date opération"),
    "amount": ("amount", "betrag", "montant", "value"),
    "credit": ("credit", "paid in", "money in"),
    "debit": ("debit", "paid out", "money out"),
    "currency": ("currency", "ccy", "währung", "devise"),
    "counterparty": ("counterparty", "name", "payer", "payee", "beneficiary", "auftraggeber"),
    "remittance": ("remittance", "description", "details", "memo", "verwendungszweck", "libellé"),
    "reference": ("reference", "ref", "end to end id", "end-to-end id", "transaction id"),
}


@dataclass
class Mapping:
    columns: dict[str, str] = field(default_factory=dict)
    decimal_comma: bool = False
    date_format: str = ""
    default_currency: str = ""


def decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise StatementError("The file is not text (UTF-8 or Windows-1252).")


def read_rows(content: bytes) -> tuple[list[str], list[list[str]]]:
    text = decode(content)
    if not text.strip():
        raise StatementError("The file is empty.")
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise StatementError(f"The CSV file cannot be read: {exc}.") from exc
    if len(rows) < 2:
        raise StatementError("The CSV file has a header but no transactions.")
    if len(rows) > MAX_LINES + 1:
        raise StatementError(f"At most {MAX_LINES} lines per file.")
    header = [cell.strip() for cell in rows[0]]
    return header, rows[1:]


def header_key(header: list[str]) -> str:
    return hashlib.sha256("\x1f".join(h.casefold() for h in header).encode()).hexdigest()


def guess_columns(header: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in header:
        lowered = name.casefold().strip()
        for key, names in GUESSES.items():
            if key not in found and lowered in names:
                found[key] = name
    return found


def parse_amount(text: str, decimal_comma: bool) -> Decimal:
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").replace("'", "")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = cleaned.strip("()")
    if decimal_comma:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    else:
        cleaned = cleaned.replace(",", "")
    value = Decimal(cleaned)
    return -value if negative else value


def parse_date(text: str, preferred: str) -> dt.date:
    text = text.strip()
    for fmt in ((preferred,) if preferred else ()) + DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
        except ValueError:
            continue
    raise ValueError(text)


def check_mapping(header: list[str], mapping: Mapping) -> None:
    unknown = [f for f in mapping.columns if f not in FIELDS]
    if unknown:
        raise StatementError(f"Unknown field {unknown[0]!r} in the column mapping.")
    missing_columns = [c for c in mapping.columns.values() if c and c not in header]
    if missing_columns:
        raise StatementError(f"The file has no column {missing_columns[0]!r}.")
    if "date" not in mapping.columns:
        raise StatementError("Map the column holding the booking date.")
    if "amount" not in mapping.columns and "credit" not in mapping.columns:
        raise StatementError("Map the column holding the amount (or credit and debit).")
    if "currency" not in mapping.columns and not mapping.default_currency:
        raise StatementError("Map the currency column or give the account's currency.")


def parse(content: bytes, mapping: Mapping, account: str = "") -> list[ParsedLine]:
    header, rows = read_rows(content)
    check_mapping(header, mapping)
    index = {name: position for position, name in enumerate(header)}

    def cell(row: list[str], key: str) -> str:
        column = mapping.columns.get(key)
        if not column:
            return ""
        position = index[column]
        return row[position] if position < len(row) else ""

    lines = []
    for number, row in enumerate(rows, start=2):
        where = f"Line {number}"
        try:
            booked_on = parse_date(cell(row, "date"), mapping.date_format)
        except ValueError as exc:
            raise StatementError(f"{where}: {cell(row, 'date')!r} is not a date.") from exc
        try:
            if "amount" in mapping.columns:
                raw = parse_amount(cell(row, "amount"), mapping.decimal_comma)
            else:
                credit, debit = cell(row, "credit").strip(), cell(row, "debit").strip()
                raw = (
                    parse_amount(credit, mapping.decimal_comma)
                    if credit
                    else -abs(parse_amount(debit, mapping.decimal_comma))
                )
        except InvalidOperation as exc:
            raise StatementError(f"{where}: the amount is not a number.") from exc
        amount, currency = checked_amount(
            raw, cell(row, "currency") or mapping.default_currency, where
        )
        lines.append(
            ParsedLine(
                booked_on=booked_on,
                amount=amount,
                currency=currency,
                counterparty=clip(cell(row, "counterparty"), 200),
                remittance=clip(cell(row, "remittance"), 2000),
                reference=clip(cell(row, "reference"), 200),
                account=account,
            )
        )
    return lines
