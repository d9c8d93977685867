"""What every statement parser returns, and the checks every line passes."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from throughline.core import money

MAX_LINES = 200_000
MAX_BYTES = 50 * 1024 * 1024


class StatementError(ValidationError):
    """The file cannot be imported; nothing was stored."""

    def __init__(self, message: str):
        super().__init__({"file": [message]})


@dataclass
class ParsedLine:
    booked_on: dt.date
    amount: Decimal  # signed: credits (money in) are positive
    currency: str
    counterparty: str = ""
    remittance: str = ""
    reference: str = ""
    bank_entry_id: str = ""
    account: str = ""


def checked_amount(raw: Decimal, currency: str, where: str) -> tuple[Decimal, str]:
    """The amount and currency of a line, or a StatementError naming the line."""
    code = (currency or "").strip().upper()
    try:
        places = money.minor_unit(code)
    except money.MoneyError as exc:
        raise StatementError(f"{where}: unknown currency {currency!r}.") from exc
    if not raw.is_finite():
        raise StatementError(f"{where}: the amount is not a number.")
    if -raw.as_tuple().exponent > places and raw != raw.quantize(Decimal(1).scaleb(-places)):
        raise StatementError(f"{where}: {raw} has more decimals than {code} allows ({places}).")
    if abs(raw) >= Decimal(10) ** 13:
        raise StatementError(f"{where}: the amount {raw} is too large.")
    if raw == 0:
        raise StatementError(f"{where}: the amount is zero.")
    return money.quantize(raw, code), code


def clip(text: object, length: int) -> str:
    return " ".join(str(text or "").split())[:length]


def dedup_key(line: ParsedLine, occurrence: int) -> str:
    """The bank's entry id when it gives one; else the line's facts (and which identical line
    of the file it is, so two equal transfers on one day stay two)."""
    if line.bank_entry_id:
        text = f"{line.account}|id|{line.bank_entry_id}"
    else:
        text = "|".join(
            [
                line.account,
                line.booked_on.isoformat(),
                str(line.amount),
                line.currency,
                line.reference,
                line.counterparty.casefold(),
                str(occurrence),
            ]
        )
    return hashlib.sha256(text.encode()).hexdigest()
