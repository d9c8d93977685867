"""Seller and buyer as printed on an invoice, taken from the same records as everywhere else.

While an invoice is a draft its parties are read live from the Organization and the CRM
contact/company; ``issue_invoice`` freezes them into the invoice (DESIGN §3), so a later change
of address never rewrites an issued document.
"""

from __future__ import annotations

from throughline.core.models import Organization
from throughline.crm.models import Company, Contact


def seller_snapshot(org: Organization) -> dict[str, str]:
    return {
        "name": org.legal_name,
        "trading_name": org.trading_name,
        "address_line1": org.address_line1,
        "address_line2": org.address_line2,
        "postal_code": org.postal_code,
        "city": org.city,
        "country": (org.country or "").upper(),
        "vat_id": org.vat_id,
        "tax_id": org.tax_id,
        "email": org.email,
        "phone": org.phone,
        # Payment instructions are part of what was issued.
        "iban": (org.iban or "").replace(" ", "").upper(),
        "bic": (org.bic or "").replace(" ", "").upper(),
        "bank_account_name": org.bank_account_name,
        "bank_details": org.bank_details,
        "base_currency": org.base_currency,
    }


def _address_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def buyer_snapshot(contact: Contact, company: Company | None, org: Organization) -> dict[str, str]:
    """The buyer: the company when there is one (attention of the contact), else the person.

    A buyer without a known country is taken to be in the seller's country (EN 16931 needs a
    country code for the buyer's address, BR-11); set it on the company to be exact.
    """
    person = contact.full_name or contact.email or "Client"
    lines = _address_lines(company.address) if company else []
    return {
        "name": company.name if company else person,
        "contact_name": person if company else "",
        "address_line1": lines[0] if lines else "",
        "address_line2": lines[1] if len(lines) > 1 else "",
        "address_line3": ", ".join(lines[2:]) if len(lines) > 2 else "",
        "postal_code": "",
        "city": "",
        "country": ((company.country if company else "") or org.country or "").upper(),
        "vat_id": company.vat_id if company else "",
        "tax_id": "",
        "email": contact.email,
        "phone": contact.phone,
    }
