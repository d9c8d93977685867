"""ISO 20022 CAMT.053 (bank-to-customer statement), any version (.001.02 … .001.08 …).

Read namespace-agnostically with lxml (``local-name()``), with entity resolution and network
access off. One entry (``Ntry``) is one line; a batch entry's transaction details are joined.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from lxml import etree

from throughline.billing.services.statements.common import (
    MAX_LINES,
    ParsedLine,
    StatementError,
    checked_amount,
    clip,
)


def _all(node, path: str) -> list:
    steps = "/".join(f"*[local-name()='{step}']" for step in path.split("/"))
    return node.xpath(steps)


def _text(node, *paths: str) -> str:
    for path in paths:
        found = _all(node, path)
        if found and (found[0].text or "").strip():
            return found[0].text.strip()
    return ""


def _date(entry) -> dt.date:
    text = _text(entry, "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt", "ValDt/DtTm")
    if not text:
        raise ValueError("no booking date")
    return dt.date.fromisoformat(text[:10])


def parse(content: bytes, account: str = "") -> list[ParsedLine]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"The CAMT.053 file is not well-formed XML: {exc}.") from exc
    if root is None or not etree.QName(root).localname == "Document":
        raise StatementError("Not an ISO 20022 document (no <Document> root).")
    namespace = etree.QName(root).namespace or ""
    statements = _all(root, "BkToCstmrStmt/Stmt")
    if "camt.053" not in namespace and not statements:
        raise StatementError("Not a CAMT.053 statement (expected urn:iso:std:iso:20022:…camt.053).")
    lines: list[ParsedLine] = []
    for statement in statements:
        acct = account or _text(statement, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
        for number, entry in enumerate(_all(statement, "Ntry"), start=1):
            where = f"Entry {number}"
            amount_node = _all(entry, "Amt")
            if not amount_node:
                raise StatementError(f"{where}: no amount.")
            try:
                raw = Decimal((amount_node[0].text or "").strip())
                booked_on = _date(entry)
            except (InvalidOperation, ValueError) as exc:
                raise StatementError(f"{where}: unreadable amount or date.") from exc
            indicator = _text(entry, "CdtDbtInd")
            if indicator not in ("CRDT", "DBIT"):
                raise StatementError(f"{where}: credit or debit? (CdtDbtInd {indicator!r})")
            if raw < 0:
                raise StatementError(f"{where}: amounts in CAMT.053 are never negative.")
            amount, currency = checked_amount(
                raw if indicator == "CRDT" else -raw, amount_node[0].get("Ccy", ""), where
            )
            details = _all(entry, "NtryDtls/TxDtls")
            party = "Dbtr" if indicator == "CRDT" else "Cdtr"
            names, texts, references = [], [], []
            for tx in details:
                names.append(_text(tx, f"RltdPties/{party}/Nm", f"RltdPties/{party}/Pty/Nm"))
                texts += [(u.text or "").strip() for u in _all(tx, "RmtInf/Ustrd")]
                references.append(
                    _text(tx, "RmtInf/Strd/CdtrRefInf/Ref", "Refs/EndToEndId", "Refs/TxId")
                )
            texts.append(_text(entry, "AddtlNtryInf"))
            lines.append(
                ParsedLine(
                    booked_on=booked_on,
                    amount=amount,
                    currency=currency,
                    counterparty=clip(next((n for n in names if n), ""), 200),
                    remittance=clip(" ".join(t for t in texts if t), 2000),
                    reference=clip(
                        " ".join(r for r in references if r and r != "NOTPROVIDED"), 200
                    ),
                    bank_entry_id=clip(_text(entry, "AcctSvcrRef", "NtryRef"), 120),
                    account=acct[:64],
                )
            )
            if len(lines) > MAX_LINES:
                raise StatementError(f"At most {MAX_LINES} lines per file.")
    if not lines:
        raise StatementError("The CAMT.053 file holds no entries.")
    return lines
