"""Display filters for amounts: ``{{ amount|money:currency }}``, ``{{ rate|pct }}``, ``{{ q|qty }}``."""

from __future__ import annotations

from decimal import Decimal

from django import template

from throughline.core import money as money_lib

register = template.Library()


@register.filter
def money(amount, currency: str) -> str:
    if amount in (None, ""):
        return ""
    try:
        return money_lib.format_money(amount, currency)
    except money_lib.MoneyError:
        return str(amount)


def _plain(value) -> str:
    if value in (None, ""):
        return ""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{number.normalize():f}"
    return text


@register.filter
def qty(value) -> str:
    return _plain(value)


@register.filter
def pct(value) -> str:
    text = _plain(value)
    return f"{text}%" if text else ""


@register.filter
def duration(delta) -> str:
    """A timedelta in words: "3 days, 4 hours", "25 minutes"."""
    if delta is None:
        return ""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "under a minute"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return ", ".join(parts[:2])
