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


def backtest_csv(report: dict) -> str:
    keys = ["month", "forecast", "low", "high", "actual", "error", "absolute_error", "ape"]
    rows = [[r[k] for k in keys] + [report["currency"], r["in_band"]] for r in report["months"]]
    return to_csv([*keys, "currency", "in_band"], rows)


def review_csv(review) -> str:
    """The items of a weekly review (the week of the period's last day); none: header only."""
    header = ["week_start", "kind", "label", "detail", "amount", "currency", "reviewed_at"]
    rows = []
    if review is not None:
        for item in review.items.all():
            rows.append(
                [
                    review.week_start,
                    item.kind,
                    item.label,
                    item.detail,
                    item.amount,
                    item.currency,
                    item.reviewed_at,
                ]
            )
    return to_csv(header, rows)


def key_value_csv(report: dict) -> str:
    rows: list = []
    flatten("", report, rows)
    return to_csv(["metric", "value"], rows)


def clients_csv(report: dict | None) -> str:
    """Both per-client tables, one row per client and currency, ``table`` naming which."""
    header = [
        "table",
        "client",
        "contact_id",
        "currency",
        "invoices",
        "amount",
        "average_days_to_pay",
        "oldest_due",
    ]
    rows = []
    for r in (report or {}).get("days_to_pay", []):
        rows.append(
            [
                "days_to_pay",
                r["client"],
                r["contact_id"],
                r["currency"],
                r["invoices"],
                r["gross"],
                r["average_days"],
                "",
            ]
        )
    for r in (report or {}).get("overdue", []):
        rows.append(
            [
                "overdue",
                r["client"],
                r["contact_id"],
                r["currency"],
                r["invoices"],
                r["amount_due"],
                "",
                r["oldest_due"],
            ]
        )
    return to_csv(header, rows)


FUNNEL_KEYS = ["leads", "qualified", "deals", "won", "lead_to_won_rate"]
COST_KEYS = ["spend", "cost_per_lead", "cost_per_won_deal"]


def funnel_csv(report: dict | None) -> str:
    """The funnel by source, one row per source and a ``(total)`` row, with spend and costs in
    ``currency`` (empty where not computable). No lead data: header only."""
    header = ["source", *FUNNEL_KEYS, "currency", *COST_KEYS]
    rows = []
    if report:
        named = [*report["by_source"].items(), ("(total)", report["totals"])]
        for source, row in named:
            rows.append(
                [source, *(row[k] for k in FUNNEL_KEYS), report["currency"]]
                + [row[k] for k in COST_KEYS]
            )
    return to_csv(header, rows)


BILLING_MONTH_KEYS = ["invoiced", "collected", "difference"]


def billing_months_csv(report: dict | None) -> str:
    """Invoiced and collected per month (the month's dates clipped to the period), then a
    ``(total)`` row for the period. No invoice issued yet: header only."""
    header = ["month", "from", "to", "currency", *BILLING_MONTH_KEYS]
    rows = []
    if report:
        for m in report["months"]:
            rows.append(
                [m["month"], m["from"], m["to"], report["currency"]]
                + [m[k] for k in BILLING_MONTH_KEYS]
            )
        first, last = report["months"][0], report["months"][-1]
        rows.append(
            ["(total)", first["from"], last["to"], report["currency"]]
            + [report[k] for k in BILLING_MONTH_KEYS]
        )
    return to_csv(header, rows)
