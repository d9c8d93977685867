"""Marketing spend per lead source and month: recording it, and the spend of a report period.

* One entry per source and calendar month (``month`` is the month's first day), in the
  organization's base currency, at most the currency's minor unit of decimals, not negative.
  Recording a month that has an entry replaces its amount and note.
* **Spend of a period** (``spend_for``): each month's amount × (days of that month inside the
  period ÷ days of the month), summed per source as exact fractions and rounded once, half up,
  to the base currency's minor unit. £600 in June and a period of 1–15 June: £300.00.
* **Cost per lead** = spend of the period ÷ leads that arrived in the period; **cost per won
  deal** = spend ÷ those leads whose deal is won (the funnel's counts), each rounded half up to
  the minor unit. None when no spend was entered for the source in the period, or the count
  is 0. Entries in a currency that is no longer the base currency are left out (listed as
  unconverted).

Every write is audited (``report.spend_recorded`` / ``report.spend_updated`` /
``report.spend_deleted``). No domain event: event names are a closed list in ``core.events``
and, like the weekly review, nothing reacts to spend.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal, localcontext
from fractions import Fraction

from django.core.exceptions import ValidationError
from django.db import transaction

from throughline.core import audit_log, money
from throughline.core.actor import Actor
from throughline.reports.common import base_currency
from throughline.reports.kpis.billing import month_ranges
from throughline.reports.kpis.filters import Filters
from throughline.reports.models import SourceSpend

MAX_AMOUNT = Decimal(10) ** 15
NOTE_LENGTH = 300


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def parse_month(value) -> dt.date:
    """A month from a date, ``YYYY-MM`` or ``YYYY-MM-DD``, as its first day."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return first_of_month(value)
    text = str(value or "").strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(f"{text}-01")
        return first_of_month(dt.date.fromisoformat(text))
    except ValueError as exc:
        raise ValidationError({"month": "Give a month as YYYY-MM."}) from exc


def _source(value):
    from throughline.intake.models import LeadSource

    if isinstance(value, LeadSource):
        return value
    slug = str(value or "").strip()
    found = LeadSource.objects.filter(slug=slug).first() if slug else None
    if found is None:
        raise ValidationError({"source": "No lead source with this slug."})
    return found


def _amount(value, currency: str) -> Decimal:
    try:
        amount = money.to_decimal(value)
    except money.MoneyError as exc:
        raise ValidationError({"amount": "Give an amount, e.g. 600.00."}) from exc
    places = money.minor_unit(currency)
    if amount < 0:
        raise ValidationError({"amount": "Spend cannot be negative."})
    if amount >= MAX_AMOUNT:
        raise ValidationError({"amount": "This amount is too large."})
    if -amount.as_tuple().exponent > places:
        raise ValidationError({"amount": f"At most {places} decimals in {currency}."})
    return money.quantize(amount, currency)


def _currency(value) -> str:
    base = base_currency()
    code = str(value or base).strip().upper()
    if code != base:
        raise ValidationError(
            {"currency": f"Enter spend in the organization's base currency ({base})."}
        )
    return code


def _note(value) -> str:
    note = str(value or "").strip()
    if len(note) > NOTE_LENGTH:
        raise ValidationError({"note": f"At most {NOTE_LENGTH} characters."})
    return note


def _clean(**fields) -> dict:
    """Each given field validated; all field errors at once."""
    errors, clean = {}, {}
    currency = None
    if "currency" in fields or "amount" in fields:
        try:
            currency = clean["currency"] = _currency(fields.get("currency"))
        except ValidationError as exc:
            errors.update(exc.message_dict)
    checks = {
        "source": _source,
        "month": parse_month,
        "note": _note,
        "amount": lambda v: _amount(v, currency or base_currency()),
    }
    for name, check in checks.items():
        if name in fields:
            try:
                clean[name] = check(fields[name])
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return clean


def record_spend(
    actor: Actor, *, source, month, amount, currency=None, note=""
) -> tuple[SourceSpend, bool]:
    """Set the spend of ``source`` (a LeadSource or its slug) in ``month``: a new entry, or the
    month's entry with a new amount and note. Returns (entry, created)."""
    data = _clean(source=source, month=month, amount=amount, currency=currency, note=note)
    with transaction.atomic():
        entry = (
            SourceSpend.objects.select_for_update()
            .filter(source=data["source"], month=data["month"])
            .first()
        )
        if entry is not None:
            return _change(actor, entry, data), False
        entry = SourceSpend.objects.create(**data, created_by=actor.user)
        audit_log.record(
            actor,
            "report.spend_recorded",
            entry,
            changes={k: [None, v] for k, v in audit_log.snapshot(entry).items()},
        )
    return entry, True


def update_spend(actor: Actor, entry: SourceSpend, **fields) -> SourceSpend:
    """Change an entry's ``amount``, ``currency`` or ``note`` (source and month are its key)."""
    unknown = set(fields) - {"amount", "currency", "note"}
    if unknown:
        raise ValidationError({k: "This field cannot be changed." for k in sorted(unknown)})
    if "amount" in fields and "currency" not in fields:
        fields["currency"] = entry.currency
    data = _clean(**fields)
    with transaction.atomic():
        entry = SourceSpend.objects.select_for_update().get(pk=entry.pk)
        return _change(actor, entry, data)


def _change(actor: Actor, entry: SourceSpend, data: dict) -> SourceSpend:
    before = audit_log.snapshot(entry)
    for name in ("amount", "currency", "note"):
        if name in data:
            setattr(entry, name, data[name])
    changes = audit_log.diff(before, audit_log.snapshot(entry))
    if changes:
        entry.save(
            update_fields=[*sorted({"amount", "currency", "note"} & set(data)), "updated_at"]
        )
        audit_log.record(actor, "report.spend_updated", entry, changes=changes)
    return entry


def delete_spend(actor: Actor, entry: SourceSpend) -> None:
    with transaction.atomic():
        before = audit_log.snapshot(entry)
        audit_log.record(
            actor,
            "report.spend_deleted",
            entry,
            changes={k: [v, None] for k, v in before.items()},
        )
        entry.delete()


def spend_for(filters: Filters) -> dict:
    """``{"by_source": {slug: Decimal}, "currency", "unconverted": [slugs]}`` for the period
    (see the module docstring); only sources with spend entered in a month the period touches."""
    base = base_currency()
    entries = SourceSpend.objects.filter(
        month__gte=first_of_month(filters.start), month__lte=filters.end
    )
    if filters.source:
        entries = entries.filter(source__slug=filters.source)
    # Days of each month inside the period: the months clipped as the billing months are.
    inside = {
        first.replace(day=1): (last - first).days + 1
        for _, first, last in month_ranges(filters.start, filters.end)
    }
    exact: dict[str, Fraction] = defaultdict(Fraction)
    unconverted: set[str] = set()
    for slug, month, amount, currency in entries.values_list(
        "source__slug", "month", "amount", "currency"
    ):
        if currency != base:
            unconverted.add(slug)
            continue
        days = calendar.monthrange(month.year, month.month)[1]
        exact[slug] += Fraction(amount) * inside[month] / days
    return {
        "currency": base,
        "by_source": {slug: _round(value, base) for slug, value in sorted(exact.items())},
        "unconverted": sorted(unconverted),
    }


def _round(value: Fraction, currency: str) -> Decimal:
    with localcontext() as context:
        context.prec = 60  # far beyond any amount: the rounding below is the only one
        return money.quantize(Decimal(value.numerator) / Decimal(value.denominator), currency)


def cost_per(spend: Decimal | None, count: int, currency: str) -> Decimal | None:
    """``spend ÷ count`` rounded half up to the minor unit; None without spend or count."""
    if spend is None or not count:
        return None
    return money.quantize(spend / count, currency)
