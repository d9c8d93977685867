"""Bad statement files: a clear error naming the problem, and nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from throughline.billing.models import CsvMapping, StatementImport, StatementLine
from throughline.billing.services.statements import import_statement
from throughline.core.models import AuditEntry

from .statement_files import Tx, camt053_statement, csv_statement, ofx_statement

ON = dt.date(2025, 3, 10)
GOOD = Tx(ON, "120.00", "Acme", "INV-2025-00001", entry_id="G")


def refused(actor, content: bytes, filename: str, **more) -> str:
    with pytest.raises(ValidationError) as caught:
        import_statement(actor, content=content, filename=filename, **more)
    assert not StatementImport.objects.exists()
    assert not StatementLine.objects.exists()
    assert not AuditEntry.objects.filter(action="statement.imported").exists()
    return " ".join(caught.value.messages)


CASES = {
    "empty file": (b"", "s.csv", "empty"),
    "csv header only": (b"Date,Amount,Currency\n", "s.csv", "no transactions"),
    "csv bad date": (
        b"Date,Amount,Currency\n2025-03-01,1.00,GBP\nyesterday,2.00,GBP\n",
        "s.csv",
        "Line 3: 'yesterday' is not a date",
    ),
    "csv amount not a number": (
        b"Date,Amount,Currency\n2025-03-01,12abc,GBP\n",
        "s.csv",
        "Line 2: the amount is not a number",
    ),
    "csv unknown currency": (
        b"Date,Amount,Currency\n2025-03-01,1.00,GBP\n2025-03-02,2.00,XYZ\n",
        "s.csv",
        "Line 3: unknown currency 'XYZ'",
    ),
    "csv too many decimals": (
        b"Date,Amount,Currency\n2025-03-01,12.345,GBP\n",
        "s.csv",
        "12.345 has more decimals than GBP allows (2)",
    ),
    "csv yen with decimals": (
        b"Date,Amount,Currency\n2025-03-01,100.5,JPY\n",
        "s.csv",
        "more decimals than JPY allows (0)",
    ),
    "csv columns unknown": (b"When,How much\n2025-03-01,1.00\n", "s.csv", "booking date"),
    "ofx garbage": (b"OFXHEADER:100\n\n<OFX><BROKEN", "s.ofx", "OFX file cannot be read"),
    "ofx unknown currency": (ofx_statement([GOOD], currency="ABC"), "s.ofx", "curdef to ABC"),
    "camt not xml": (b"<?xml version='1.0'?><Document><unclosed>", "s.xml", "not well-formed"),
    "camt wrong document": (
        b"<?xml version='1.0'?><Invoice xmlns='urn:x'/>",
        "s.xml",
        "Not an ISO 20022 document",
    ),
    "camt unknown currency": (
        camt053_statement([Tx(ON, "10.00", currency="QQQ")]),
        "s.xml",
        "Entry 1: unknown currency 'QQQ'",
    ),
    "camt too many decimals": (
        camt053_statement([GOOD, Tx(ON, "10.001", "X", "Y")]),
        "s.xml",
        "Entry 2: 10.001 has more decimals than GBP allows",
    ),
    "camt no entries": (
        camt053_statement([]),
        "s.xml",
        "holds no entries",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_with_a_clear_error(actor, org, case):
    content, filename, expected = CASES[case]
    assert expected in refused(actor, content, filename)


def test_one_bad_line_among_good_ones_stores_none_of_them(actor, org):
    txs = [GOOD, Tx(ON, "5.00", "B", "x"), Tx(ON, "1.234", "C", "y")]
    assert "Line 4" in refused(actor, csv_statement(txs), "s.csv")


def test_camt_with_an_external_entity_reads_no_local_file(actor, org):
    evil = (
        camt053_statement([GOOD])
        .replace(
            b"<Document", b'<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Document', 1
        )
        .replace(b"<Ustrd>INV-2025-00001</Ustrd>", b"<Ustrd>&x;</Ustrd>")
    )
    try:
        statement = import_statement(actor, content=evil, filename="evil.xml")
    except ValidationError:
        return  # refusing it is fine too
    assert "root:" not in " ".join(statement.lines.values_list("remittance", flat=True))


def test_csv_mapping_is_remembered_by_its_header(actor, org):
    content = csv_statement([GOOD], decimal_comma=True)
    mapping = {
        "columns": {"date": "Buchungstag", "amount": "Betrag", "currency": "Währung"},
        "decimal_comma": True,
        "date_format": "%d.%m.%Y",
    }
    import_statement(actor, content=content, filename="a.csv", mapping=mapping)
    assert CsvMapping.objects.count() == 1

    # the next file from the same bank needs no mapping
    later = csv_statement([Tx(ON, "1234.56", "Big", "x")], decimal_comma=True)
    statement = import_statement(actor, content=later, filename="b.csv")
    assert str(statement.lines.get().amount) == "1234.56"


def test_mapping_naming_a_missing_column_is_refused(actor, org):
    message = refused(
        actor,
        csv_statement([GOOD]),
        "s.csv",
        mapping={"columns": {"date": "Date", "amount": "Betrag", "currency": "Currency"}},
    )
    assert "no column 'Betrag'" in message
