"""The structured body shared by proposal templates and proposal versions, and its validation.

``content`` (a JSON object)::

    sections          [{"title", "body"}]          body: rich text (nh3-sanitized) + merge fields
    lines             [{"item", "description", "quantity", "unit", "unit_price", "tax_rate",
                        "tax_category", "discount_percent", "option"}]   (templates only; a
                        proposal version keeps its lines as ProposalLine rows)
    options           [{"key", "title", "description", "group", "default"}]
                        options sharing a non-empty ``group`` are alternatives (pick one);
                        options without a group are add-ons (pick any)
    in_scope, out_of_scope   [str]
    milestones        [{"title", "description", "offset_days"}]   days after acceptance
    payment_schedule  {"kind": "installments" | "milestones" | "retainer",
                       "items": [{"label", "percent", "due", "milestone"}],
                       "term_months": int}        (retainer: billed monthly)
    terms             rich text (nh3-sanitized) + merge fields

Decimals are kept as strings in JSON. ``clean_content`` returns a normalized copy or raises a
``ValidationError`` keyed like ``sections.0.body`` / ``payment_schedule``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from throughline.core.money import MoneyError, plain, quantize_price, quantize_quantity, to_decimal
from throughline.messaging.rendering import sanitize_html
from throughline.sales.merge import check_merge_source
from throughline.sales.models import TaxCategory

MAX_ITEMS = 100
MAX_TEXT = 20_000
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
SCHEDULE_KINDS = ("installments", "milestones", "retainer")
DUE_CHOICES = {
    "signing": "On signing",
    "start": "At the start of work",
    "completion": "On completion",
    "milestone": "On reaching a milestone",
}


def empty_content() -> dict[str, Any]:
    return {
        "sections": [],
        "lines": [],
        "options": [],
        "in_scope": [],
        "out_of_scope": [],
        "milestones": [],
        "payment_schedule": {
            "kind": "installments",
            "items": [
                {"label": "On signing", "percent": "50", "due": "signing", "milestone": None},
                {"label": "On completion", "percent": "50", "due": "completion", "milestone": None},
            ],
            "term_months": None,
        },
        "terms": "",
    }


def _text(value: Any, limit: int) -> str:
    text = "" if value is None else str(value)
    return text.strip()[:limit]


def _rich(value: Any, key: str, errors: dict) -> str:
    source = _text(value, MAX_TEXT)
    try:
        check_merge_source(source)
    except ValidationError as exc:
        errors[key] = exc.messages
        return source
    return sanitize_html(source)


def _list(value: Any, key: str, errors: dict) -> list:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        errors[key] = ["Give a list."]
        return []
    if len(value) > MAX_ITEMS:
        errors[key] = [f"At most {MAX_ITEMS} entries."]
        return []
    return value


def _decimal(value: Any, key: str, errors: dict, *, low=None, high=None) -> Decimal | None:
    try:
        number = to_decimal("0" if value in (None, "") else value)
    except MoneyError:
        errors[key] = ["Enter a number."]
        return None
    if (low is not None and number < low) or (high is not None and number > high):
        errors[key] = [f"Enter a number from {low} to {high}."]
        return None
    return number


def clean_lines(raw: Any, errors: dict) -> list[dict[str, Any]]:
    lines = []
    for i, line in enumerate(_list(raw, "lines", errors)):
        key = f"lines.{i}"
        if not isinstance(line, dict):
            errors[key] = ["Each line is an object."]
            continue
        description = _text(line.get("description"), 2000)
        if not description:
            errors[f"{key}.description"] = ["Describe the line."]
        quantity = _decimal(line.get("quantity", "1"), f"{key}.quantity", errors, low=0)
        price = _decimal(line.get("unit_price"), f"{key}.unit_price", errors, low=0)
        rate = _decimal(line.get("tax_rate"), f"{key}.tax_rate", errors, low=0, high=100)
        discount = _decimal(
            line.get("discount_percent"), f"{key}.discount_percent", errors, low=0, high=100
        )
        category = line.get("tax_category") or TaxCategory.STANDARD
        if category not in TaxCategory.values:
            errors[f"{key}.tax_category"] = ["Unknown tax category."]
        if None in (quantity, price, rate, discount):
            continue
        lines.append(
            {
                "item": str(line["item"]) if line.get("item") else None,
                "description": description,
                "quantity": plain(quantize_quantity(quantity)),
                "unit": _text(line.get("unit"), 30),
                "unit_price": str(quantize_price(price)),
                "tax_rate": str(rate.quantize(Decimal("0.01"))),
                "tax_category": category,
                "discount_percent": str(discount.quantize(Decimal("0.01"))),
                "option": _text(line.get("option"), 50),
            }
        )
    return lines


def clean_options(raw: Any, errors: dict) -> list[dict[str, Any]]:
    options, seen = [], set()
    for i, option in enumerate(_list(raw, "options", errors)):
        key = f"options.{i}"
        if not isinstance(option, dict):
            errors[key] = ["Each option is an object."]
            continue
        slug = _text(option.get("key"), 50).lower()
        if not _KEY.match(slug):
            errors[f"{key}.key"] = ["Use lower-case letters, digits, - and _."]
            continue
        if slug in seen:
            errors[f"{key}.key"] = [f"The key {slug!r} is used twice."]
            continue
        seen.add(slug)
        title = _text(option.get("title"), 200)
        if not title:
            errors[f"{key}.title"] = ["Give the option a title."]
        options.append(
            {
                "key": slug,
                "title": title,
                "description": _text(option.get("description"), 2000),
                "group": _text(option.get("group"), 50),
                "default": bool(option.get("default")),
            }
        )
    # Alternatives: exactly one default per group (the first, unless one is marked).
    groups: dict[str, list[dict]] = {}
    for option in options:
        if option["group"]:
            groups.setdefault(option["group"], []).append(option)
    for members in groups.values():
        marked = [o for o in members if o["default"]]
        for o in members:
            o["default"] = False
        (marked or members)[0]["default"] = True
    return options


def clean_milestones(raw: Any, errors: dict) -> list[dict[str, Any]]:
    milestones = []
    for i, milestone in enumerate(_list(raw, "milestones", errors)):
        key = f"milestones.{i}"
        if not isinstance(milestone, dict):
            errors[key] = ["Each milestone is an object."]
            continue
        title = _text(milestone.get("title"), 200)
        if not title:
            errors[f"{key}.title"] = ["Give the milestone a title."]
        offset = milestone.get("offset_days")
        if offset in (None, ""):
            offset = None
        else:
            try:
                offset = int(offset)
                if not 0 <= offset <= 3650:
                    raise ValueError
            except (TypeError, ValueError):
                errors[f"{key}.offset_days"] = ["Days after acceptance, 0 to 3650."]
                offset = None
        milestones.append(
            {
                "title": title,
                "description": _text(milestone.get("description"), 2000),
                "offset_days": offset,
            }
        )
    return milestones


def clean_schedule(raw: Any, milestones: list, errors: dict) -> dict[str, Any]:
    raw = raw or {}
    if not isinstance(raw, dict):
        errors["payment_schedule"] = ["Give the payment schedule as an object."]
        return empty_content()["payment_schedule"]
    kind = raw.get("kind") or "installments"
    if kind not in SCHEDULE_KINDS:
        errors["payment_schedule.kind"] = [f"Choose one of: {', '.join(SCHEDULE_KINDS)}."]
        return empty_content()["payment_schedule"]
    if kind == "retainer":
        term = raw.get("term_months")
        try:
            term = int(term) if term not in (None, "") else None
            if term is not None and not 1 <= term <= 120:
                raise ValueError
        except (TypeError, ValueError):
            errors["payment_schedule.term_months"] = ["Months, 1 to 120 (empty: until ended)."]
            term = None
        return {"kind": kind, "items": [], "term_months": term}
    items, total = [], Decimal(0)
    for i, item in enumerate(_list(raw.get("items"), "payment_schedule.items", errors)):
        key = f"payment_schedule.items.{i}"
        if not isinstance(item, dict):
            errors[key] = ["Each instalment is an object."]
            continue
        percent = _decimal(item.get("percent"), f"{key}.percent", errors, low=0, high=100)
        due = item.get("due") or ("milestone" if kind == "milestones" else "signing")
        if due not in DUE_CHOICES:
            errors[f"{key}.due"] = [f"Choose one of: {', '.join(DUE_CHOICES)}."]
        milestone = item.get("milestone")
        if due == "milestone":
            try:
                milestone = int(milestone)
                if not 0 <= milestone < len(milestones):
                    raise ValueError
            except (TypeError, ValueError):
                errors[f"{key}.milestone"] = ["Pick one of the proposal's milestones."]
                milestone = None
        else:
            milestone = None
        if percent is None:
            continue
        total += percent
        label = _text(item.get("label"), 200) or (
            milestones[milestone]["title"] if milestone is not None else DUE_CHOICES.get(due, "")
        )
        items.append(
            {
                "label": label,
                "percent": plain(percent),
                "due": due,
                "milestone": milestone,
            }
        )
    if not items:
        errors.setdefault("payment_schedule", ["Add at least one instalment."])
    elif total != 100:
        errors.setdefault(
            "payment_schedule", [f"The instalments add up to {plain(total)}%, not 100%."]
        )
    return {"kind": kind, "items": items, "term_months": None}


def clean_content(data: dict[str, Any] | None, *, with_lines: bool) -> dict[str, Any]:
    data = data or {}
    errors: dict[str, list[str]] = {}
    sections = []
    for i, section in enumerate(_list(data.get("sections"), "sections", errors)):
        if not isinstance(section, dict):
            errors[f"sections.{i}"] = ["Each section is an object."]
            continue
        title = _text(section.get("title"), 200)
        body = _rich(section.get("body"), f"sections.{i}.body", errors)
        if title or body:
            sections.append({"title": title, "body": body})
    milestones = clean_milestones(data.get("milestones"), errors)
    content = {
        "sections": sections,
        "lines": clean_lines(data.get("lines"), errors) if with_lines else [],
        "options": clean_options(data.get("options"), errors),
        "in_scope": [
            t for t in (_text(v, 500) for v in _list(data.get("in_scope"), "in_scope", errors)) if t
        ],
        "out_of_scope": [
            t
            for t in (
                _text(v, 500) for v in _list(data.get("out_of_scope"), "out_of_scope", errors)
            )
            if t
        ],
        "milestones": milestones,
        "payment_schedule": clean_schedule(data.get("payment_schedule"), milestones, errors),
        "terms": _rich(data.get("terms"), "terms", errors),
    }
    option_keys = {o["key"] for o in content["options"]}
    for i, line in enumerate(content["lines"]):
        if line["option"] and line["option"] not in option_keys:
            errors[f"lines.{i}.option"] = [f"No option {line['option']!r}."]
    if errors:
        raise ValidationError(errors)
    return content


def default_selection(options: list[dict[str, Any]]) -> list[str]:
    """Options chosen until the client chooses: each group's default; add-ons marked default."""
    return [o["key"] for o in options if o.get("default")]


def check_selection(options: list[dict[str, Any]], chosen: list[str]) -> list[str]:
    """A valid choice of options: known keys, exactly one per group. Returns it normalized."""
    keys = {o["key"]: o for o in options}
    chosen = list(dict.fromkeys(k for k in chosen if k))
    unknown = [k for k in chosen if k not in keys]
    if unknown:
        raise ValidationError({"options": [f"Unknown option {unknown[0]!r}."]})
    groups: dict[str, list[str]] = {}
    for o in options:
        if o["group"]:
            groups.setdefault(o["group"], [])
    for k in chosen:
        if keys[k]["group"]:
            groups[keys[k]["group"]].append(k)
    for group, picked in groups.items():
        if len(picked) != 1:
            raise ValidationError({"options": [f"Choose exactly one option for “{group}”."]})
    return [o["key"] for o in options if o["key"] in chosen]
