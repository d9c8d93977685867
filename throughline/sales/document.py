"""What a proposal version shows, in one structure for every rendering of it.

The staff preview, the client's page (``/c/<token>/proposal``) and the PDF all render
``templates/sales/proposal/_document.html`` with ``document_context`` — so the page and the PDF
cannot drift apart. Figures come from ``services.pricing`` for the given choice of options.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from throughline.sales.content import DUE_CHOICES, default_selection
from throughline.sales.models import ProposalVersion
from throughline.sales.services import pricing


@dataclass
class OptionView:
    key: str
    title: str
    description: str
    group: str
    selected: bool
    lines: list
    subtotal: Decimal


def _milestones(version: ProposalVersion, start: dt.date | None) -> list[dict[str, Any]]:
    out = []
    for m in version.content.get("milestones", []):
        offset = m.get("offset_days")
        due = start + dt.timedelta(days=offset) if (start and offset is not None) else None
        out.append({**m, "due": due})
    return out


def document_context(
    version: ProposalVersion, selection: list[str] | None = None, *, start: dt.date | None = None
) -> dict[str, Any]:
    proposal = version.proposal
    currency = proposal.currency
    content = version.content
    options = content.get("options", [])
    chosen = default_selection(options) if selection is None else selection
    lines = list(version.lines.all())
    totals = pricing.totals(
        lines, currency, discount_percent=version.discount_percent, selection=chosen
    )
    option_views = []
    for o in options:
        option_lines = [line for line in lines if line.option == o["key"]]
        option_views.append(
            OptionView(
                key=o["key"],
                title=o["title"],
                description=o.get("description", ""),
                group=o.get("group", ""),
                selected=o["key"] in chosen,
                lines=option_lines,
                subtotal=sum((line.net_amount for line in option_lines), Decimal(0)),
            )
        )
    groups: dict[str, list[OptionView]] = {}
    addons = []
    for view in option_views:
        if view.group:
            groups.setdefault(view.group, []).append(view)
        else:
            addons.append(view)
    schedule = content.get("payment_schedule", {})
    return {
        "version": version,
        "proposal": proposal,
        "currency": currency,
        "parties": version.parties,
        "sections": version.rendered.get("sections", []),
        "terms_html": version.rendered.get("terms_html", ""),
        "base_lines": [line for line in lines if not line.option],
        "option_groups": [{"name": name, "options": views} for name, views in groups.items()],
        "addons": addons,
        "has_options": bool(option_views),
        "selection": chosen,
        "totals": totals,
        "in_scope": content.get("in_scope", []),
        "out_of_scope": content.get("out_of_scope", []),
        "milestones": _milestones(version, start),
        "schedule_kind": schedule.get("kind", "installments"),
        "schedule_items": pricing.schedule_amounts(schedule, totals.gross, currency),
        "schedule_term_months": schedule.get("term_months"),
        "due_labels": DUE_CHOICES,
    }
