"""The body of a project template version, and its validation.

``content`` (a JSON object)::

    milestones   [{"title", "description", "offset_days", "tasks": [str], "qa": [str]}]
                 offset_days: due this many days after the project's start
    onboarding   [{"title", "owner_role", "due_offset_days"}]   (owner_role: a staff role)
    offboarding  [{"title", "owner_role", "due_offset_days"}]   (offset from the closing day)

``clean_template_content`` returns a normalized copy or raises ``ValidationError`` keyed like
``milestones.0.title``.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from throughline.core.roles import Role

MAX_ITEMS = 100


def empty_template_content() -> dict[str, Any]:
    return {"milestones": [], "onboarding": [], "offboarding": []}


def _text(value: Any, limit: int) -> str:
    return ("" if value is None else str(value)).strip()[:limit]


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


def _offset(value: Any, key: str, errors: dict) -> int | None:
    if value in (None, ""):
        return None
    try:
        offset = int(value)
        if not 0 <= offset <= 3650:
            raise ValueError
    except (TypeError, ValueError):
        errors[key] = ["Days, 0 to 3650."]
        return None
    return offset


def _strings(value: Any, key: str, errors: dict) -> list[str]:
    out = []
    for i, item in enumerate(_list(value, key, errors)):
        text = _text(item.get("title") if isinstance(item, dict) else item, 200)
        if not text:
            errors[f"{key}.{i}"] = ["Give each entry a text."]
        else:
            out.append(text)
    return out


def _checklist(value: Any, key: str, errors: dict) -> list[dict[str, Any]]:
    items = []
    for i, item in enumerate(_list(value, key, errors)):
        if isinstance(item, str):
            item = {"title": item}
        if not isinstance(item, dict):
            errors[f"{key}.{i}"] = ["Each item is an object."]
            continue
        title = _text(item.get("title"), 200)
        if not title:
            errors[f"{key}.{i}.title"] = ["Give the item a title."]
        role = _text(item.get("owner_role"), 20)
        if role and role not in Role.values:
            errors[f"{key}.{i}.owner_role"] = [f"Choose one of: {', '.join(Role.values)}."]
        items.append(
            {
                "title": title,
                "owner_role": role,
                "due_offset_days": _offset(
                    item.get("due_offset_days"), f"{key}.{i}.due_offset_days", errors
                ),
            }
        )
    return items


def clean_template_content(data: Any) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        raise ValidationError({"content": ["Give the template as a JSON object."]})
    unknown = set(data) - set(empty_template_content())
    if unknown:
        errors["content"] = [f"Unknown keys: {', '.join(sorted(unknown))}."]
    milestones = []
    for i, raw in enumerate(_list(data.get("milestones"), "milestones", errors)):
        key = f"milestones.{i}"
        if not isinstance(raw, dict):
            errors[key] = ["Each milestone is an object."]
            continue
        title = _text(raw.get("title"), 200)
        if not title:
            errors[f"{key}.title"] = ["Give the milestone a title."]
        milestones.append(
            {
                "title": title,
                "description": _text(raw.get("description"), 2000),
                "offset_days": _offset(raw.get("offset_days"), f"{key}.offset_days", errors),
                "tasks": _strings(raw.get("tasks"), f"{key}.tasks", errors),
                "qa": _strings(raw.get("qa"), f"{key}.qa", errors),
            }
        )
    content = {
        "milestones": milestones,
        "onboarding": _checklist(data.get("onboarding"), "onboarding", errors),
        "offboarding": _checklist(data.get("offboarding"), "offboarding", errors),
    }
    if errors:
        raise ValidationError(errors)
    return content
