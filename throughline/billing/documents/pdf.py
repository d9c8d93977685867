"""The human-readable invoice: one HTML template, shown on the client page and printed to PDF.

Numbers, dates and amounts are formatted with babel for the document's locale (``en_DE`` prints
1.234,56 €, ``en_GB`` £1,234.56). WeasyPrint renders the HTML to PDF/A-3b; it may fetch nothing
from outside (``_no_fetch``): the logo is inlined, and a description that contains markup is
escaped by the template like any other text.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, format_percent
from django.template.loader import render_to_string

from throughline.billing.documents.data import DocumentData, Line, VatGroup
from throughline.core import money

CATEGORY_LABELS = {
    "S": "VAT",
    "Z": "Zero rated",
    "E": "Exempt",
    "AE": "Reverse charge",
    "K": "Intra-community supply",
    "G": "Export outside the EU",
    "O": "Not subject to VAT",
}


def locale_for(country: str, preferred: str = "") -> str:
    """English wording with the country's number and date conventions (``en_DE``), else ``en``."""
    for candidate in (preferred, f"en_{(country or '').upper()}", "en"):
        if not candidate:
            continue
        try:
            return str(Locale.parse(candidate))
        except (UnknownLocaleError, ValueError):
            continue
    return "en"


@dataclass(frozen=True)
class Formatter:
    locale: str
    currency: str

    def money(self, value: Decimal) -> str:
        return format_currency(
            money.quantize(value, self.currency), self.currency, locale=self.locale
        )

    def number(self, value: Decimal) -> str:
        return format_decimal(Decimal(value).normalize(), locale=self.locale)

    def price(self, value: Decimal) -> str:
        # Unit prices keep their 4 decimals when they have them, and at least the currency's.
        places = max(
            money.minor_unit(self.currency), -Decimal(value).normalize().as_tuple().exponent
        )
        pattern = "#,##0." + "0" * places if places else "#,##0"
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: Decimal) -> str:
        return format_percent(Decimal(value) / 100, format="#,##0.##%", locale=self.locale)

    def date(self, value) -> str:
        return format_date(value, format="long", locale=self.locale) if value else ""


def _line_row(line: Line, fmt: Formatter) -> dict:
    return {
        "position": line.position,
        "description": line.description,
        "quantity": fmt.number(line.quantity),
        "unit": line.unit,
        "unit_price": fmt.price(line.unit_price),
        "discount": fmt.percent(line.discount_percent) if line.discount_percent else "",
        "allowance": fmt.money(line.allowance) if line.allowance else "",
        "vat": fmt.percent(line.vat_rate) if line.vat_category == "S" else line.vat_category,
        "net": fmt.money(line.net),
    }


def _vat_row(group: VatGroup, fmt: Formatter) -> dict:
    label = CATEGORY_LABELS.get(group.category, group.category)
    if group.category in {"S", "Z"}:
        label = f"{label} {fmt.percent(group.rate)}"
    return {
        "label": label,
        "base": fmt.money(group.base),
        "tax": fmt.money(group.tax),
        "reason": group.exemption_reason,
        "code": group.exemption_code,
    }


def context(
    data: DocumentData, *, locale: str, logo: bytes | None = None, logo_name: str = ""
) -> dict:
    fmt = Formatter(locale=locale, currency=data.currency)
    logo_uri = ""
    if logo:
        mime = mimetypes.guess_type(logo_name)[0] or "image/png"
        logo_uri = f"data:{mime};base64,{base64.b64encode(logo).decode()}"
    base_gross = None
    if data.exchange_rate and data.base_currency and data.base_currency != data.currency:
        base_fmt = Formatter(locale=locale, currency=data.base_currency)
        base_gross = base_fmt.money(data.gross_total * data.exchange_rate)
    return {
        "doc": data,
        "title": "Credit note"
        if data.is_credit_note
        else ("Prepayment invoice" if data.type_code == "386" else "Invoice"),
        "issue_date": fmt.date(data.issue_date),
        "due_date": fmt.date(data.due_date),
        "preceding_date": fmt.date(data.preceding.issue_date) if data.preceding else "",
        "lines": [_line_row(line, fmt) for line in data.lines],
        "vat_rows": [_vat_row(group, fmt) for group in data.breakdown],
        "lines_total": fmt.money(data.lines_total),
        "allowance_total": fmt.money(data.allowance_total) if data.allowance_total else "",
        "discount_percent": fmt.percent(data.discount_percent) if data.discount_percent else "",
        "net_total": fmt.money(data.net_total),
        "tax_total": fmt.money(data.tax_total),
        "gross_total": fmt.money(data.gross_total),
        "prepaid": fmt.money(data.prepaid) if data.prepaid else "",
        "payable": fmt.money(data.payable),
        "base_gross": base_gross,
        "exchange_rate": format_decimal(data.exchange_rate, locale=locale) if base_gross else "",
        "logo_uri": logo_uri,
        "reverse_charge": any(group.category == "AE" for group in data.breakdown),
        "locale": locale,
    }


def render_html(data: DocumentData, **kwargs) -> str:
    return render_to_string("billing/documents/invoice.html", context(data, **kwargs))


def _no_fetch(url: str, *args, **kwargs):
    """WeasyPrint's URL fetcher: only inline ``data:`` URIs, never the network or disk."""
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise ValueError(f"Invoice documents load nothing from outside ({url[:40]!r})")


def render_pdf(data: DocumentData, **kwargs) -> bytes:
    """A PDF/A-3b of the invoice (fonts embedded, sRGB output intent), ready for Factur-X."""
    from weasyprint import HTML

    html = render_html(data, **kwargs)
    return HTML(string=html, url_fetcher=_no_fetch, base_url=".").write_pdf(
        pdf_variant="pdf/a-3b", uncompressed_pdf=False
    )
