"""CSV export of every report (permission ``reports.export``); each export is audited."""

from __future__ import annotations

import csv
import io

from throughline.reports.serialize import jsonable

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(jsonable(value))
    # Spreadsheet formula injection: a text cell must not start like a formula. Plain numbers
    # (a negative amount) stay numbers.
    if text.startswith(_FORMULA_START):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


def flatten(prefix: str, value, rows: list) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for index, inner in enumerate(value):
            flatten(f"{prefix}[{index}]", inner, rows)
    else:
        rows.append([prefix, value])


def to_csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def aging_csv(report: dict, invoices: list) -> str:
    rows = [
        [
            i.number,
            i.issue_date,
            i.due_date,
            i.days_past_due,
            i.bucket,
            i.currency,
            i.open_amount,
            report["currency"],
            i.base_amount,
        ]
        for i in invoices
    ]
    header = [
        "number",
        "issue_date",
        "due_date",
        "days_past_due",
        "bucket",
        "currency",
        "open_amount",
        "base_currency",
        "base_open_amount",
    ]
    return to_csv(header, rows)


def forecast_csv(report: dict) -> str:
    rows = [
        [
            p["date"],
            report["currency"],
            p["expected"],
            p["cumulative"],
            p["cumulative_low"],
            p["cumulative_high"],
        ]
        for p in report["series"]
    ]
    header = ["date", "currency", "expected", "cumulative", "cumulative_low", "cumulative_high"]
    return to_csv(header, rows)


def key_value_csv(report: dict) -> str:
    rows: list = []
    flatten("", report, rows)
    return to_csv(["metric", "value"], rows)
