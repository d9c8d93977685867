"""Proposal arithmetic on top of ``throughline.core.money`` (EN 16931, DESIGN §5).

Lines carry a percentage discount (a line allowance); the version may carry a document-level
discount, taken per VAT category. Options: a line with an ``option`` counts only when that
option is chosen. The server computes every figure; numbers typed by a client are never used.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from throughline.core import money
from throughline.sales.content import default_selection


def _get(line: Any, name: str, default: Any = None) -> Any:
    if isinstance(line, dict):
        return line.get(name, default)
    return getattr(line, name, default)


def line_net(line: Any, currency: str) -> Decimal:
    quantity = money.to_decimal(_get(line, "quantity") or 0)
    price = money.to_decimal(_get(line, "unit_price") or 0)
    allowance = money.line_allowance(
        quantity, price, currency, percent=money.to_decimal(_get(line, "discount_percent") or 0)
    )
    return money.line_net(quantity, price, currency, allowance)


def line_gross_before_discount(line: Any, currency: str) -> Decimal:
    quantity = money.to_decimal(_get(line, "quantity") or 0)
    price = money.to_decimal(_get(line, "unit_price") or 0)
    return money.line_net(quantity, price, currency)


def included(lines: Iterable[Any], selection: Iterable[str]) -> list[Any]:
    chosen = set(selection)
    return [line for line in lines if not _get(line, "option") or _get(line, "option") in chosen]


def totals(
    lines: Iterable[Any], currency: str, *, discount_percent: Any = 0, selection: Iterable[str] = ()
) -> money.Totals:
    tax_lines = [
        money.TaxLine(
            net=line_net(line, currency),
            rate=money.to_decimal(_get(line, "tax_rate") or 0),
            category=_get(line, "tax_category") or "S",
        )
        for line in included(lines, selection)
    ]
    return money.document_totals(tax_lines, currency, allowance_percent=discount_percent or 0)


def default_totals(lines, options, currency, discount_percent) -> money.Totals:
    return totals(
        lines, currency, discount_percent=discount_percent, selection=default_selection(options)
    )


def largest_selection(lines: list[Any], options: list[dict], currency: str) -> list[str]:
    """The choice with the highest total: every add-on, and the dearest alternative per group."""
    by_option: dict[str, Decimal] = {}
    for line in lines:
        key = _get(line, "option")
        if key:
            by_option[key] = by_option.get(key, Decimal(0)) + line_net(line, currency)
    chosen, best = [], {}
    for option in options:
        value = by_option.get(option["key"], Decimal(0))
        if not option["group"]:
            chosen.append(option["key"])
        elif option["group"] not in best or value > best[option["group"]][1]:
            best[option["group"]] = (option["key"], value)
    return chosen + [key for key, _ in best.values()]


def effective_discount_percent(lines, currency, discount_percent, selection) -> Decimal:
    """How much below list price the chosen lines end up, in percent of list price."""
    chosen = included(lines, selection)
    list_total = sum((line_gross_before_discount(line, currency) for line in chosen), Decimal(0))
    if list_total <= 0:
        return Decimal(0)
    net = totals(chosen, currency, discount_percent=discount_percent, selection=selection).net
    return ((list_total - net) / list_total * 100).quantize(Decimal("0.01"))


def totals_json(t: money.Totals) -> dict[str, Any]:
    return {
        "currency": t.currency,
        "lines_net": str(t.lines_net),
        "allowance": str(t.allowance),
        "net": str(t.net),
        "tax": str(t.tax),
        "gross": str(t.gross),
        "breakdown": [
            {
                "category": b.category,
                "rate": str(b.rate),
                "lines_net": str(b.lines_net),
                "allowance": str(b.allowance),
                "base": str(b.base),
                "tax": str(b.tax),
            }
            for b in t.breakdown
        ],
    }


def schedule_amounts(schedule: dict, gross: Decimal, currency: str) -> list[dict[str, Any]]:
    """Instalments with their amounts (they always add up to the total)."""
    if schedule.get("kind") == "retainer":
        return []
    items = schedule.get("items") or []
    if not items:
        return []
    amounts = money.allocate(gross, [money.to_decimal(i["percent"]) for i in items], currency)
    return [{**item, "amount": amount} for item, amount in zip(items, amounts, strict=True)]
