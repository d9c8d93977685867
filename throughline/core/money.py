"""Money arithmetic shared by sales (proposals) and billing (invoices), per DESIGN §5.

Pure functions over ``Decimal``; no floats anywhere. The rules are EN 16931's:

* quantities and unit prices carry up to 4 decimals (``quantize_quantity``, ``quantize_price``);
* line net = round(quantity × unit price − line allowance, 2) — "2" being the currency's minor
  unit (0 for JPY, 3 for BHD, taken from babel);
* VAT per category = round(category base × rate, 2), computed once per category, never per line;
* document totals are sums of already rounded parts, so the printed figures always add up.

Rounding is ROUND_HALF_UP (commercial rounding), which EN 16931 implementations expect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

ZERO = Decimal("0")
HUNDRED = Decimal("100")
QUANTITY_PLACES = 4
PRICE_PLACES = 4
RATE_PLACES = 2


class MoneyError(ValueError):
    """A value that is not a usable amount, quantity, rate or currency."""


@cache
def minor_unit(currency: str) -> int:
    """Decimal places of ``currency`` (ISO 4217): 2 for EUR, 0 for JPY, 3 for BHD."""
    from babel.numbers import get_currency_precision, list_currencies

    code = (currency or "").upper()
    if code not in list_currencies():
        raise MoneyError(f"{currency!r} is not an ISO 4217 currency code.")
    return get_currency_precision(code)


def _exponent(places: int) -> Decimal:
    return Decimal(1).scaleb(-places)


def to_decimal(value: object) -> Decimal:
    """A finite ``Decimal`` from a Decimal, int or numeric string; floats are refused."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("Give amounts as strings or Decimals, not floats.")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "").replace("\u00a0", "")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:
            raise MoneyError(f"{value!r} is not a number.") from exc
    else:
        raise MoneyError(f"{value!r} is not a number.")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite number.")
    return result


def round_places(value: Decimal, places: int) -> Decimal:
    return to_decimal(value).quantize(_exponent(places), rounding=ROUND_HALF_UP)


def quantize(amount: object, currency: str) -> Decimal:
    """Round an amount to the currency's minor unit, half up."""
    return round_places(to_decimal(amount), minor_unit(currency))


def quantize_quantity(quantity: object) -> Decimal:
    return round_places(to_decimal(quantity), QUANTITY_PLACES)


def quantize_price(price: object) -> Decimal:
    return round_places(to_decimal(price), PRICE_PLACES)


def quantize_rate(rate: object) -> Decimal:
    return round_places(to_decimal(rate), RATE_PLACES)


def percent_of(amount: object, percent: object, currency: str) -> Decimal:
    """round(amount × percent / 100) in the currency's minor unit."""
    return quantize(to_decimal(amount) * to_decimal(percent) / HUNDRED, currency)


def line_allowance(
    quantity: object, unit_price: object, currency: str, *, percent: object = 0, amount: object = 0
) -> Decimal:
    """A line's allowance (discount): a percentage of its gross, plus a fixed amount."""
    gross = quantize_quantity(quantity) * quantize_price(unit_price)
    allowance = quantize(to_decimal(amount), currency)
    if to_decimal(percent):
        allowance += percent_of(gross, percent, currency)
    return allowance


def line_net(quantity: object, unit_price: object, currency: str, allowance: object = 0) -> Decimal:
    """EN 16931 BT-131: round(quantity × unit price − line allowance)."""
    gross = quantize_quantity(quantity) * quantize_price(unit_price)
    return quantize(gross - to_decimal(allowance), currency)


def vat_amount(base: object, rate_percent: object, currency: str) -> Decimal:
    """EN 16931 BT-117: round(category base × rate / 100)."""
    return percent_of(base, quantize_rate(rate_percent), currency)


@dataclass(frozen=True)
class TaxLine:
    """One line's contribution to the totals: its (already rounded) net and VAT category."""

    net: Decimal
    rate: Decimal
    category: str = "S"


@dataclass(frozen=True)
class TaxBreakdown:
    """EN 16931 BG-23: one VAT category and rate, with its base and tax."""

    category: str
    rate: Decimal
    lines_net: Decimal
    allowance: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    currency: str
    lines_net: Decimal  # BT-106, sum of line nets
    allowance: Decimal  # BT-107, document-level allowances
    net: Decimal  # BT-109, total without VAT
    tax: Decimal  # BT-110
    gross: Decimal  # BT-112, total with VAT
    breakdown: tuple[TaxBreakdown, ...] = field(default_factory=tuple)


def document_totals(
    lines: Iterable[TaxLine], currency: str, *, allowance_percent: object = 0
) -> Totals:
    """Totals of a document from its rounded line nets.

    A document-level discount (``allowance_percent``) is taken per VAT category — EN 16931
    needs every allowance attributed to a category — as round(category lines × percent), so
    the base of each category and its VAT stay exact sums of printed figures.
    """
    percent = to_decimal(allowance_percent)
    groups: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = (line.category or "S", quantize_rate(line.rate))
        groups[key] = groups.get(key, ZERO) + quantize(line.net, currency)
    breakdown = []
    for (category, rate), lines_net in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        allowance = percent_of(lines_net, percent, currency) if percent else quantize(0, currency)
        base = lines_net - allowance
        breakdown.append(
            TaxBreakdown(
                category=category,
                rate=rate,
                lines_net=lines_net,
                allowance=allowance,
                base=base,
                tax=vat_amount(base, rate, currency),
            )
        )
    zero = quantize(0, currency)
    lines_net = sum((b.lines_net for b in breakdown), zero)
    allowance = sum((b.allowance for b in breakdown), zero)
    net = sum((b.base for b in breakdown), zero)
    tax = sum((b.tax for b in breakdown), zero)
    return Totals(
        currency=currency.upper(),
        lines_net=lines_net,
        allowance=allowance,
        net=net,
        tax=tax,
        gross=net + tax,
        breakdown=tuple(breakdown),
    )


def allocate(total: object, weights: Sequence[object], currency: str) -> list[Decimal]:
    """Split ``total`` by ``weights`` (e.g. percentages 50/50) into amounts that sum to it.

    Each share is rounded down to the minor unit; the cents left over go one by one to the
    shares with the largest remainders (ties to the earlier share), so nothing is lost or made
    up — a 100.00 split three ways is 33.34 + 33.33 + 33.33.
    """
    total = quantize(total, currency)
    ws = [to_decimal(w) for w in weights]
    if not ws:
        return []
    if any(w < 0 for w in ws):
        raise MoneyError("Weights cannot be negative.")
    weight_sum = sum(ws, ZERO)
    if weight_sum == 0:
        raise MoneyError("Weights cannot all be zero.")
    step = _exponent(minor_unit(currency))
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    raw = [magnitude * w / weight_sum for w in ws]
    floors = [r.quantize(step, rounding=ROUND_FLOOR) for r in raw]
    left = int(((magnitude - sum(floors, ZERO)) / step).to_integral_value())
    order = sorted(range(len(ws)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += step
    return [sign * share for share in floors]


def format_money(amount: object, currency: str, locale: str = "en_GB") -> str:
    """``£1,234.50`` — for display only; never parse what this returns."""
    from babel.numbers import format_currency

    return format_currency(quantize(amount, currency), currency.upper(), locale=locale)


def plain(value: object) -> str:
    """A number without exponent or trailing zeros: ``Decimal("12000.0000")`` → ``"12000"``."""
    return f"{to_decimal(value).normalize():f}"
