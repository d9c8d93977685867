"""The facts an invoice document shows, as plain frozen data: what the PDF, CII and UBL render.

``document_data(invoice)`` reads an invoice (its frozen snapshot once issued, the live records
while it is a draft) into a ``DocumentData``; the generators never touch the ORM, so they can be
tested on hand-made data and run the same for every output format.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

# UN/ECE Recommendation 20 codes (BT-130) for the units people type; anything else is "C62"
# ("one", a unit without dimension), which every receiver accepts.
UNIT_CODES = {
    "": "C62",
    "item": "C62",
    "items": "C62",
    "unit": "C62",
    "units": "C62",
    "each": "C62",
    "piece": "H87",
    "pieces": "H87",
    "pc": "H87",
    "pcs": "H87",
    "hour": "HUR",
    "hours": "HUR",
    "h": "HUR",
    "hr": "HUR",
    "hrs": "HUR",
    "day": "DAY",
    "days": "DAY",
    "week": "WEE",
    "weeks": "WEE",
    "month": "MON",
    "months": "MON",
    "year": "ANN",
    "years": "ANN",
    "minute": "MIN",
    "minutes": "MIN",
    "kg": "KGM",
    "km": "KMT",
    "m": "MTR",
    "lump sum": "LS",
    "service": "E48",
}

# UNTDID 1001 document type codes (BT-3).
TYPE_INVOICE = "380"
TYPE_PREPAYMENT = "386"
TYPE_CREDIT_NOTE = "381"


def unit_code(unit: str) -> str:
    text = (unit or "").strip()
    if len(text) in (2, 3) and text.isupper() and text.isalnum():
        return text  # already a Rec 20 code
    return UNIT_CODES.get(text.lower(), "C62")


@dataclass(frozen=True)
class Party:
    """Seller (BG-4) or buyer (BG-7) as printed: taken from the snapshot frozen at issue."""

    name: str
    trading_name: str = ""
    contact_name: str = ""
    address_line1: str = ""
    address_line2: str = ""
    address_line3: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    vat_id: str = ""
    tax_id: str = ""
    email: str = ""
    phone: str = ""

    @property
    def address_lines(self) -> list[str]:
        city = " ".join(part for part in (self.postal_code, self.city) if part)
        lines = [self.address_line1, self.address_line2, self.address_line3, city]
        return [line for line in lines if line]

    @classmethod
    def from_dict(cls, data: dict) -> Party:
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{k: str(v or "") for k, v in (data or {}).items() if k in known})


@dataclass(frozen=True)
class Line:
    position: int
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    allowance: Decimal  # the line's discount as an amount (BT-136)
    net: Decimal  # BT-131
    vat_category: str
    vat_rate: Decimal

    @property
    def name(self) -> str:
        """BT-153 item name: the description's first line, shortened."""
        first = (self.description or "").strip().splitlines()[0] if self.description else ""
        return (first[:200] or "Item").strip()

    @property
    def unit_code(self) -> str:
        return unit_code(self.unit)

    @property
    def gross(self) -> Decimal:
        return self.net + self.allowance


@dataclass(frozen=True)
class VatGroup:
    """BG-23: one VAT category and rate with its base, tax and (if exempt) the reason."""

    category: str
    rate: Decimal
    lines_net: Decimal
    allowance: Decimal
    base: Decimal
    tax: Decimal
    exemption_code: str = ""
    exemption_reason: str = ""


@dataclass(frozen=True)
class Reference:
    number: str
    issue_date: dt.date | None


@dataclass(frozen=True)
class DocumentData:
    document_type: str  # "invoice" | "credit_note"
    type_code: str  # UNTDID 1001: 380, 386, 381
    number: str
    issue_date: dt.date
    due_date: dt.date | None
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    breakdown: tuple[VatGroup, ...]
    lines_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    net_total: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    gross_total: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    payable: Decimal  # BT-115
    discount_percent: Decimal = Decimal(0)
    payment_terms: str = ""
    notes: str = ""
    buyer_reference: str = ""
    preceding: Reference | None = None
    iban: str = ""
    bic: str = ""
    bank_account_name: str = ""
    bank_details: str = ""
    exchange_rate: Decimal | None = None
    base_currency: str = ""
    credit_reason: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def is_credit_note(self) -> bool:
        return self.document_type == "credit_note"

    @property
    def payment_reference(self) -> str:
        return self.number
