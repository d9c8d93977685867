"""The catalogue of products and services."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from throughline.core import audit_log, money
from throughline.sales.models import CatalogueItem, TaxCategory

ITEM_FIELDS = (
    "name",
    "code",
    "kind",
    "description",
    "unit",
    "unit_price",
    "currency",
    "tax_rate",
    "tax_category",
    "active",
)


def _clean(data: dict[str, Any], instance: CatalogueItem | None) -> dict[str, Any]:
    unknown = set(data) - set(ITEM_FIELDS)
    errors: dict[str, str] = {k: "Unknown field." for k in unknown}
    cleaned: dict[str, Any] = {}
    for key, limit in (("name", 200), ("code", 50), ("unit", 30)):
        if key in data:
            cleaned[key] = " ".join(str(data[key] or "").split())[:limit]
    if instance is None or "name" in data:
        if not cleaned.get("name"):
            errors["name"] = "Give the item a name."
    if "description" in data:
        cleaned["description"] = str(data["description"] or "").strip()[:5000]
    if "kind" in data:
        if data["kind"] not in CatalogueItem.Kind.values:
            errors["kind"] = "Product or service."
        cleaned["kind"] = data["kind"]
    if "currency" in data or instance is None:
        cleaned["currency"] = str(data.get("currency") or "").strip().upper()
        try:
            money.minor_unit(cleaned["currency"])
        except money.MoneyError as exc:
            errors["currency"] = str(exc)
    if "unit_price" in data or instance is None:
        try:
            price = money.to_decimal(data.get("unit_price"))
            if price < 0:
                raise money.MoneyError("A price cannot be negative.")
            cleaned["unit_price"] = money.quantize_price(price)
        except money.MoneyError as exc:
            errors["unit_price"] = str(exc)
    if "tax_rate" in data:
        try:
            rate = money.quantize_rate(data["tax_rate"] if data["tax_rate"] != "" else "0")
            if not 0 <= rate <= 100:
                raise money.MoneyError("A percentage from 0 to 100.")
            cleaned["tax_rate"] = rate
        except money.MoneyError as exc:
            errors["tax_rate"] = str(exc)
    if "tax_category" in data:
        if data["tax_category"] not in TaxCategory.values:
            errors["tax_category"] = "Unknown tax category."
        cleaned["tax_category"] = data["tax_category"]
    if "active" in data:
        cleaned["active"] = bool(data["active"])
    if errors:
        raise ValidationError(errors)
    return cleaned


def _save(item: CatalogueItem, **kwargs) -> None:
    try:
        with transaction.atomic():
            item.save(**kwargs)
    except IntegrityError as exc:
        raise ValidationError({"code": "Another item has this code."}) from exc


@transaction.atomic
def create_item(actor, **data: Any) -> CatalogueItem:
    item = CatalogueItem(**_clean(data, None))
    _save(item, force_insert=True)
    audit_log.record(
        actor, "catalogue_item.created", item, changes=audit_log.diff({}, audit_log.snapshot(item))
    )
    return item


@transaction.atomic
def update_item(actor, item: CatalogueItem, **data: Any) -> CatalogueItem:
    item = CatalogueItem.objects.select_for_update(of=("self",)).get(pk=item.pk)
    cleaned = _clean(data, item)
    before = audit_log.snapshot(item)
    for key, value in cleaned.items():
        setattr(item, key, value)
    changes = audit_log.diff(before, audit_log.snapshot(item))
    if changes:
        _save(item)
        audit_log.record(actor, "catalogue_item.updated", item, changes=changes)
    return item
