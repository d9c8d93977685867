"""Factur-X / ZUGFeRD: the invoice PDF/A-3 with its CII XML (EN 16931 profile) embedded.

WeasyPrint renders the PDF/A-3b (documents/pdf.py); the ``factur-x`` package attaches the XML
as ``factur-x.xml`` (AFRelationship "Data") and writes the XMP metadata that names the profile.
The schematron was already run when the invoice was issued; the XSD check here is cheap and
catches a generator bug before a file leaves the house.
"""

from __future__ import annotations

from facturx import generate_from_binary

from throughline.billing.documents import cii, pdf
from throughline.billing.documents.data import DocumentData


def facturx_pdf(
    data: DocumentData, *, locale: str, logo: bytes | None = None, logo_name: str = ""
) -> bytes:
    visual = pdf.render_pdf(data, locale=locale, logo=logo, logo_name=logo_name)
    title = "Credit note" if data.is_credit_note else "Invoice"
    return generate_from_binary(
        visual,
        cii.cii_xml(data),
        flavor="factur-x",
        level="en16931",
        check_xsd=True,
        check_schematron=False,  # its helper needs a Saxon server; ours ran at issue
        pdf_metadata={
            "author": data.seller.name,
            "keywords": "Factur-X, Invoice",
            "title": f"{data.seller.name}: {title} {data.number}",
            "subject": f"{title} {data.number} dated {data.issue_date.isoformat()} "
            f"issued by {data.seller.name}",
        },
        lang=locale.replace("_", "-"),
    )
