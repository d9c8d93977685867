"""UN/CEFACT Cross Industry Invoice (CII D16B), Factur-X / ZUGFeRD EN 16931 profile.

``cii_xml(data)`` returns the XML bytes embedded in the Factur-X PDF (documents/facturx.py) and
checked by the EN 16931 Schematron before an invoice is issued (documents/schematron.py).
Element order follows the Factur-X EN 16931 XSD; tests validate every output against it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from throughline.billing.documents.data import DocumentData, Line, Party, VatGroup
from throughline.core import money

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NSMAP = {"rsm": RSM, "qdt": QDT, "ram": RAM, "udt": UDT}
EN16931 = "urn:cen.eu:en16931:2017"
# Categories whose rate is 0 by rule and which carry an exemption reason (BR-E/AE/IC/G/O-10).
EXEMPT_CATEGORIES = {"E", "AE", "K", "G", "O"}
DISCOUNT_REASON_CODE = "95"  # UNTDID 5189 "Discount"


def _el(parent, ns: str, tag: str, text: str | None = None, **attrs) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}", **attrs)
    if text is not None:
        node.text = text
    return node


def ram(parent, tag: str, text: str | None = None, **attrs) -> etree._Element:
    return _el(parent, RAM, tag, text, **attrs)


def amount(value: Decimal, currency: str) -> str:
    return str(money.quantize(value, currency))


def price(value: Decimal) -> str:
    return str(money.quantize_price(value))


def quantity(value: Decimal) -> str:
    return str(money.quantize_quantity(value))


def rate(value: Decimal) -> str:
    return str(money.quantize_rate(value))


def date_102(parent, tag: str, value: dt.date, ns: str = UDT) -> None:
    holder = ram(parent, tag)
    _el(holder, ns, "DateTimeString", value.strftime("%Y%m%d"), format="102")


def _indicator(parent, charge: bool) -> None:
    holder = ram(parent, "ChargeIndicator")
    _el(holder, UDT, "Indicator", "true" if charge else "false")


def _party(parent, tag: str, party: Party) -> None:
    node = ram(parent, tag)
    ram(node, "Name", party.name or party.trading_name or "-")
    if party.tax_id and tag == "SellerTradeParty":
        # "Tax / company registration id" (Organization.tax_id): the legal registration
        # (BT-30, which BR-CO-26 accepts) and the tax registration (BT-32, for BR-S-02).
        ram(ram(node, "SpecifiedLegalOrganization"), "ID", party.tax_id)
    address = ram(node, "PostalTradeAddress")
    if party.postal_code:
        ram(address, "PostcodeCode", party.postal_code)
    for field, value in (
        ("LineOne", party.address_line1),
        ("LineTwo", party.address_line2),
        ("LineThree", party.address_line3),
    ):
        if value:
            ram(address, field, value)
    if party.city:
        ram(address, "CityName", party.city)
    ram(address, "CountryID", party.country)
    if party.email:
        uri = ram(node, "URIUniversalCommunication")
        ram(uri, "URIID", party.email, schemeID="EM")
    if party.vat_id:
        registration = ram(node, "SpecifiedTaxRegistration")
        ram(registration, "ID", party.vat_id, schemeID="VA")
    if party.tax_id and tag == "SellerTradeParty":
        registration = ram(node, "SpecifiedTaxRegistration")
        ram(registration, "ID", party.tax_id, schemeID="FC")


def _line(parent, line: Line, currency: str) -> None:
    item = ram(parent, "IncludedSupplyChainTradeLineItem")
    ram(ram(item, "AssociatedDocumentLineDocument"), "LineID", str(line.position))
    product = ram(item, "SpecifiedTradeProduct")
    ram(product, "Name", line.name)
    if line.description.strip() != line.name:
        ram(product, "Description", line.description.strip())
    agreement = ram(item, "SpecifiedLineTradeAgreement")
    ram(ram(agreement, "NetPriceProductTradePrice"), "ChargeAmount", price(line.unit_price))
    delivery = ram(item, "SpecifiedLineTradeDelivery")
    ram(delivery, "BilledQuantity", quantity(line.quantity), unitCode=line.unit_code)
    settlement = ram(item, "SpecifiedLineTradeSettlement")
    tax = ram(settlement, "ApplicableTradeTax")
    ram(tax, "TypeCode", "VAT")
    ram(tax, "CategoryCode", line.vat_category)
    if line.vat_category != "O":  # BR-O-05: no rate on "not subject to VAT" lines
        ram(tax, "RateApplicablePercent", rate(line.vat_rate))
    if line.allowance:
        allowance = ram(settlement, "SpecifiedTradeAllowanceCharge")
        _indicator(allowance, charge=False)
        if line.discount_percent:
            ram(allowance, "CalculationPercent", rate(line.discount_percent))
            ram(allowance, "BasisAmount", amount(line.gross, currency))
        ram(allowance, "ActualAmount", amount(line.allowance, currency))
        ram(allowance, "ReasonCode", DISCOUNT_REASON_CODE)
        ram(allowance, "Reason", "Discount")
    summation = ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation")
    ram(summation, "LineTotalAmount", amount(line.net, currency))


def _vat_group(parent, group: VatGroup, currency: str) -> None:
    tax = ram(parent, "ApplicableTradeTax")
    ram(tax, "CalculatedAmount", amount(group.tax, currency))
    ram(tax, "TypeCode", "VAT")
    if group.category in EXEMPT_CATEGORIES and group.exemption_reason:
        ram(tax, "ExemptionReason", group.exemption_reason)
    ram(tax, "BasisAmount", amount(group.base, currency))
    ram(tax, "CategoryCode", group.category)
    if group.category in EXEMPT_CATEGORIES and group.exemption_code:
        ram(tax, "ExemptionReasonCode", group.exemption_code)
    if group.category != "O":
        ram(tax, "RateApplicablePercent", rate(group.rate))


def _document_allowance(parent, data: DocumentData, group: VatGroup) -> None:
    node = ram(parent, "SpecifiedTradeAllowanceCharge")
    _indicator(node, charge=False)
    ram(node, "CalculationPercent", rate(data.discount_percent))
    ram(node, "BasisAmount", amount(group.lines_net, data.currency))
    ram(node, "ActualAmount", amount(group.allowance, data.currency))
    ram(node, "ReasonCode", DISCOUNT_REASON_CODE)
    ram(node, "Reason", "Discount")
    tax = ram(node, "CategoryTradeTax")
    ram(tax, "TypeCode", "VAT")
    ram(tax, "CategoryCode", group.category)
    if group.category != "O":
        ram(tax, "RateApplicablePercent", rate(group.rate))


def cii_tree(data: DocumentData) -> etree._Element:
    currency = data.currency
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = _el(root, RSM, "ExchangedDocumentContext")
    ram(ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", EN16931)

    document = _el(root, RSM, "ExchangedDocument")
    ram(document, "ID", data.number)
    ram(document, "TypeCode", data.type_code)
    date_102(document, "IssueDateTime", data.issue_date)
    for text in (data.credit_reason, data.notes):
        if text.strip():
            ram(ram(document, "IncludedNote"), "Content", text.strip())

    transaction = _el(root, RSM, "SupplyChainTradeTransaction")
    for line in data.lines:
        _line(transaction, line, currency)

    agreement = ram(transaction, "ApplicableHeaderTradeAgreement")
    if data.buyer_reference:
        ram(agreement, "BuyerReference", data.buyer_reference)
    _party(agreement, "SellerTradeParty", data.seller)
    _party(agreement, "BuyerTradeParty", data.buyer)

    delivery = ram(transaction, "ApplicableHeaderTradeDelivery")
    if any(group.category == "K" for group in data.breakdown):
        # BR-IC-11/12: intra-community supplies name the delivery date and country.
        ship_to = ram(delivery, "ShipToTradeParty")
        ram(ram(ship_to, "PostalTradeAddress"), "CountryID", data.buyer.country)
        event = ram(delivery, "ActualDeliverySupplyChainEvent")
        date_102(event, "OccurrenceDateTime", data.extra.get("delivery_date") or data.issue_date)

    settlement = ram(transaction, "ApplicableHeaderTradeSettlement")
    if not data.is_credit_note:
        ram(settlement, "PaymentReference", data.payment_reference)
    ram(settlement, "InvoiceCurrencyCode", currency)
    if data.iban and not data.is_credit_note:
        means = ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        ram(means, "TypeCode", "58" if data.bic or data.iban[:2].isalpha() else "30")
        account = ram(means, "PayeePartyCreditorFinancialAccount")
        ram(account, "IBANID", data.iban)
        if data.bank_account_name:
            ram(account, "AccountName", data.bank_account_name)
        if data.bic:
            ram(ram(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", data.bic)
    for group in data.breakdown:
        _vat_group(settlement, group, currency)
    if data.discount_percent:
        for group in data.breakdown:
            if group.allowance:
                _document_allowance(settlement, data, group)
    if data.payment_terms or (data.due_date and not data.is_credit_note):
        terms = ram(settlement, "SpecifiedTradePaymentTerms")
        if data.payment_terms:
            ram(terms, "Description", data.payment_terms)
        if data.due_date and not data.is_credit_note:
            date_102(terms, "DueDateDateTime", data.due_date)
    summation = ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    ram(summation, "LineTotalAmount", amount(data.lines_total, currency))
    if data.allowance_total:
        ram(summation, "AllowanceTotalAmount", amount(data.allowance_total, currency))
    ram(summation, "TaxBasisTotalAmount", amount(data.net_total, currency))
    ram(summation, "TaxTotalAmount", amount(data.tax_total, currency), currencyID=currency)
    ram(summation, "GrandTotalAmount", amount(data.gross_total, currency))
    if data.prepaid:
        ram(summation, "TotalPrepaidAmount", amount(data.prepaid, currency))
    ram(summation, "DuePayableAmount", amount(data.payable, currency))
    if data.preceding is not None:
        reference = ram(settlement, "InvoiceReferencedDocument")
        ram(reference, "IssuerAssignedID", data.preceding.number)
        if data.preceding.issue_date:
            date_102(reference, "FormattedIssueDateTime", data.preceding.issue_date, ns=QDT)
    return root


def cii_xml(data: DocumentData) -> bytes:
    return etree.tostring(cii_tree(data), xml_declaration=True, encoding="UTF-8", pretty_print=True)
