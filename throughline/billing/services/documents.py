"""Documents of an invoice: its data, the Factur-X PDF, the UBL XML, and the archived copies.

An issued invoice's documents are generated once and kept (``InvoiceDocument``): what a client
downloads later is byte for byte what was sent. Drafts are rendered on the fly as previews.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from throughline.billing.documents import cii, facturx, pdf, schematron, ubl
from throughline.billing.documents.data import (
    TYPE_CREDIT_NOTE,
    TYPE_INVOICE,
    TYPE_PREPAYMENT,
    DocumentData,
    Line,
    Party,
    Reference,
    VatGroup,
)
from throughline.billing.models import Invoice, InvoiceDocument
from throughline.billing.services import parties
from throughline.core.models import Organization

DRAFT_NUMBER = "DRAFT"


def parties_of(invoice: Invoice) -> tuple[dict, dict]:
    """Frozen parties once issued; the live records while a draft."""
    if not invoice.is_draft and invoice.seller:
        return invoice.seller, invoice.buyer
    org = Organization.current()
    return parties.seller_snapshot(org), parties.buyer_snapshot(
        invoice.contact, invoice.company, org
    )


def document_data(
    invoice: Invoice,
    *,
    number: str | None = None,
    lines: list | None = None,
    parties: tuple[dict, dict] | None = None,
) -> DocumentData:
    """The invoice as document data; ``number`` stands in for one not yet assigned (the
    issuing service passes the lines and parties it already holds)."""
    seller, buyer = parties or parties_of(invoice)
    lines = list(invoice.lines.all()) if lines is None else lines
    if invoice.is_credit_note:
        type_code = TYPE_CREDIT_NOTE
    elif invoice.kind == Invoice.Kind.DEPOSIT:
        type_code = TYPE_PREPAYMENT
    else:
        type_code = TYPE_INVOICE
    preceding = None
    if invoice.corrects_id:
        corrected = invoice.corrects
        preceding = Reference(number=corrected.number, issue_date=corrected.issue_date)
    # Stored figures only (kept current by the services while a draft, frozen at issue): a
    # later change to the arithmetic never rewrites what an issued document says.
    return DocumentData(
        document_type=invoice.document_type,
        type_code=type_code,
        number=number or invoice.number or DRAFT_NUMBER,
        issue_date=invoice.issue_date or _today(),
        due_date=invoice.due_date,
        currency=invoice.currency,
        seller=Party.from_dict(seller),
        buyer=Party.from_dict(buyer),
        lines=tuple(
            Line(
                position=index,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                allowance=line.allowance_amount,
                net=line.net_amount,
                vat_category=line.vat_category,
                vat_rate=line.vat_rate,
            )
            for index, line in enumerate(lines, start=1)
        ),
        breakdown=tuple(
            VatGroup(
                category=group["category"],
                rate=Decimal(group["rate"]),
                lines_net=Decimal(group["lines_net"]),
                allowance=Decimal(group["allowance"]),
                base=Decimal(group["base"]),
                tax=Decimal(group["tax"]),
                exemption_code=group.get("exemption_code", ""),
                exemption_reason=group.get("exemption_reason", ""),
            )
            for group in invoice.tax_breakdown or []
        ),
        lines_total=invoice.lines_total,
        allowance_total=invoice.allowance_total,
        net_total=invoice.net_total,
        tax_total=invoice.tax_total,
        gross_total=invoice.gross_total,
        prepaid=invoice.prepaid_amount,
        payable=invoice.payable_total,
        discount_percent=invoice.discount_percent,
        payment_terms=invoice.payment_terms,
        notes=invoice.notes,
        buyer_reference=invoice.buyer_reference,
        preceding=preceding,
        iban=seller.get("iban", ""),
        bic=seller.get("bic", ""),
        bank_account_name=seller.get("bank_account_name", ""),
        bank_details=seller.get("bank_details", ""),
        exchange_rate=invoice.exchange_rate,
        base_currency=invoice.base_currency or seller.get("base_currency", ""),
        credit_reason=invoice.credit_reason,
        extra={"delivery_date": invoice.delivery_date},
    )


def _today():
    from throughline.billing.services.dates import org_today

    return org_today()


def locale_of(invoice: Invoice) -> str:
    """The invoice's own locale, else English with the seller's conventions (``en_GB``)."""
    seller, _ = parties_of(invoice)
    return pdf.locale_for(seller.get("country", ""), invoice.locale)


def rule_failures(invoice: Invoice, **kwargs) -> list[schematron.RuleFailure]:
    """EN 16931 rule failures of the invoice's CII (fatal ones and warnings)."""
    return schematron.check(cii.cii_xml(document_data(invoice, **kwargs)), "cii")


def _logo() -> tuple[bytes | None, str]:
    org = Organization.current()
    if not org.logo:
        return None, ""
    try:
        with org.logo.open("rb") as handle:
            return handle.read(), org.logo.name
    except OSError:
        return None, ""


def render_facturx(invoice: Invoice) -> bytes:
    logo, logo_name = _logo()
    return facturx.facturx_pdf(
        document_data(invoice), locale=locale_of(invoice), logo=logo, logo_name=logo_name
    )


def render_html(invoice: Invoice) -> str:
    logo, logo_name = _logo()
    return pdf.render_html(
        document_data(invoice), locale=locale_of(invoice), logo=logo, logo_name=logo_name
    )


def render_ubl(invoice: Invoice) -> bytes:
    return ubl.ubl_xml(document_data(invoice))


RENDERERS = {
    InvoiceDocument.Kind.FACTURX_PDF: (render_facturx, "pdf"),
    InvoiceDocument.Kind.UBL: (render_ubl, "xml"),
}


def filename(invoice: Invoice, kind: str) -> str:
    extension = RENDERERS[kind][1]
    label = invoice.number or f"draft-{str(invoice.pk)[:8]}"
    return (
        f"{label}.{extension}" if kind == InvoiceDocument.Kind.FACTURX_PDF else f"{label}-ubl.xml"
    )


def archived(invoice: Invoice, kind: str) -> InvoiceDocument:
    """The kept copy of an issued invoice's document, generated on first use."""
    if invoice.is_draft:
        raise ValueError("Drafts have previews, not archived documents.")
    existing = InvoiceDocument.objects.filter(invoice=invoice, kind=kind).first()
    if existing is not None:
        return existing
    render, _ = RENDERERS[kind]
    content = render(invoice)
    document = InvoiceDocument(
        invoice=invoice,
        kind=kind,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
    )
    document.file.save(filename(invoice, kind), ContentFile(content), save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        # Generated twice at once (a job and a download): keep the first copy.
        document.file.delete(save=False)
        return InvoiceDocument.objects.get(invoice=invoice, kind=kind)
    return document


def document_bytes(invoice: Invoice, kind: str) -> bytes:
    """The document's bytes: the archived copy once issued, a fresh preview for a draft."""
    if invoice.is_draft:
        return RENDERERS[kind][0](invoice)
    document = archived(invoice, kind)
    with document.file.open("rb") as handle:
        return handle.read()
