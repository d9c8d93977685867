"""Reports to JSON per DESIGN §6: Decimals (money, ratios of money) as strings, dates ISO."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from throughline.reports.aging import OpenInvoice


def jsonable(value):
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, OpenInvoice):
        return {
            "id": str(value.id),
            "number": value.number,
            "currency": value.currency,
            "open_amount": jsonable(value.open_amount),
        }
    return value


def aging_payload(report: dict) -> dict:
    return jsonable(
        {
            "as_of": report["as_of"],
            "currency": report["currency"],
            "buckets": report["buckets"],
            "total": report["total"],
            "unconverted": report["unconverted"],
        }
    )
