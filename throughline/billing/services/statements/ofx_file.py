"""OFX statements (1.x SGML and 2.x XML), read with ofxtools."""

from __future__ import annotations

import io
from decimal import Decimal

from throughline.billing.services.statements.common import (
    MAX_LINES,
    ParsedLine,
    StatementError,
    checked_amount,
    clip,
)


def parse(content: bytes, account: str = "") -> list[ParsedLine]:
    from ofxtools.Parser import OFXTree

    parser = OFXTree()
    try:
        parser.parse(io.BytesIO(content))
        ofx = parser.convert()
        statements = list(ofx.statements)
    except Exception as exc:  # ofxtools raises many kinds (ParseError, ValueError, KeyError…)
        detail = clip(str(exc) or type(exc).__name__, 160)
        raise StatementError(f"The OFX file cannot be read: {detail}.") from exc
    lines: list[ParsedLine] = []
    for statement in statements:
        acct = account or str(getattr(statement.account, "acctid", "") or "")
        for number, txn in enumerate(statement.banktranlist or [], start=1):
            where = f"Transaction {txn.fitid or number}"
            currency = statement.curdef
            original = getattr(txn, "currency", None) or getattr(txn, "origcurrency", None)
            if original is not None and getattr(original, "cursym", None):
                currency = original.cursym
            amount, currency = checked_amount(Decimal(txn.trnamt), currency, where)
            payee = getattr(txn, "payee", None)
            name = txn.name or (getattr(payee, "name", "") if payee is not None else "")
            lines.append(
                ParsedLine(
                    booked_on=txn.dtposted.date(),
                    amount=amount,
                    currency=currency,
                    counterparty=clip(name, 200),
                    remittance=clip(txn.memo, 2000),
                    reference=clip(txn.refnum or txn.checknum, 200),
                    bank_entry_id=clip(txn.fitid, 120),
                    account=acct[:64],
                )
            )
            if len(lines) > MAX_LINES:
                raise StatementError(f"At most {MAX_LINES} lines per file.")
    if not lines:
        raise StatementError("The OFX file holds no bank transactions.")
    return lines
