"""Bank statement files written the way banks write them, for the import tests.

Each ``Tx`` is one booking: amount signed (credits positive), an optional bank entry id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

IBAN = "GB33BUKB20201555555555"


@dataclass
class Tx:
    booked_on: dt.date
    amount: str
    name: str = ""
    text: str = ""
    reference: str = ""
    entry_id: str = ""
    currency: str = "GBP"


def csv_statement(txs: list[Tx], *, decimal_comma: bool = False) -> bytes:
    """A German-style file when ``decimal_comma`` (``;``, ``dd.mm.yyyy``, ``1.234,56``)."""
    if decimal_comma:
        head = "Buchungstag;Betrag;Währung;Auftraggeber;Verwendungszweck;Referenz"
        rows = []
        for tx in txs:
            value = Decimal(tx.amount)
            whole, _, cents = f"{abs(value):,.2f}".partition(".")
            amount = ("-" if value < 0 else "") + whole.replace(",", ".") + "," + cents
            rows.append(
                f"{tx.booked_on:%d.%m.%Y};{amount};{tx.currency};{tx.name};{tx.text};{tx.reference}"
            )
        return ("\n".join([head, *rows]) + "\n").encode("cp1252")
    head = "Date,Amount,Currency,Payer,Details,Reference"
    rows = [
        f'{tx.booked_on.isoformat()},{tx.amount},{tx.currency},"{tx.name}","{tx.text}",{tx.reference}'
        for tx in txs
    ]
    return ("\n".join([head, *rows]) + "\n").encode()


def ofx_statement(txs: list[Tx], currency: str = "GBP") -> bytes:
    entries = "".join(
        f"<STMTTRN><TRNTYPE>{'CREDIT' if Decimal(tx.amount) > 0 else 'DEBIT'}"
        f"<DTPOSTED>{tx.booked_on:%Y%m%d}<TRNAMT>{tx.amount}<FITID>{tx.entry_id or i}"
        f"<NAME>{escape(tx.name)}<MEMO>{escape(tx.text)}</STMTTRN>\n"
        for i, tx in enumerate(txs, start=1)
    )
    return (
        "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\n"
        "CHARSET:1252\nCOMPRESSION:NONE\nOLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX>\n"
        "<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>"
        "<DTSERVER>20250320120000<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1>\n"
        "<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>\n"
        f"<STMTRS><CURDEF>{currency}<BANKACCTFROM><BANKID>200000<ACCTID>12345678"
        "<ACCTTYPE>CHECKING</BANKACCTFROM>\n<BANKTRANLIST><DTSTART>20250101<DTEND>20251231\n"
        f"{entries}</BANKTRANLIST><LEDGERBAL><BALAMT>0.00<DTASOF>20250320</LEDGERBAL>"
        "</STMTRS></STMTTRNRS></BANKMSGSRSV1>\n</OFX>\n"
    ).encode("ascii", "replace")


def camt053_statement(txs: list[Tx], version: str = "001.02") -> bytes:
    """camt.053.001.02 names parties ``Dbtr/Nm``; .08 nests them (``Dbtr/Pty/Nm``)."""
    nested = version >= "001.08"
    entries = []
    for i, tx in enumerate(txs, start=1):
        value = Decimal(tx.amount)
        credit = value > 0
        party_tag = "Dbtr" if credit else "Cdtr"
        name = escape(tx.name)
        party = f"<Pty><Nm>{name}</Nm></Pty>" if nested else f"<Nm>{name}</Nm>"
        strd = (
            f"<Strd><CdtrRefInf><Ref>{escape(tx.reference)}</Ref></CdtrRefInf></Strd>"
            if tx.reference
            else ""
        )
        entry_ref = f"<AcctSvcrRef>{escape(tx.entry_id)}</AcctSvcrRef>" if tx.entry_id else ""
        entries.append(
            f'<Ntry><NtryRef>{i}</NtryRef><Amt Ccy="{tx.currency}">{abs(value)}</Amt>'
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{tx.booked_on.isoformat()}</Dt></BookgDt>"
            f"<ValDt><Dt>{tx.booked_on.isoformat()}</Dt></ValDt>{entry_ref}"
            "<BkTxCd/><NtryDtls><TxDtls>"
            "<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
            f"<RltdPties><{party_tag}>{party}</{party_tag}></RltdPties>"
            f"<RmtInf><Ustrd>{escape(tx.text)}</Ustrd>{strd}</RmtInf>"
            "</TxDtls></NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.{version}">'
        "<BkToCstmrStmt><GrpHdr><MsgId>MSG1</MsgId><CreDtTm>2025-03-20T12:00:00</CreDtTm>"
        "</GrpHdr><Stmt><Id>STMT1</Id><CreDtTm>2025-03-20T12:00:00</CreDtTm>"
        f"<Acct><Id><IBAN>{IBAN}</IBAN></Id></Acct>{''.join(entries)}</Stmt>"
        "</BkToCstmrStmt></Document>"
    ).encode()
