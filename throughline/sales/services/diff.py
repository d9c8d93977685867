"""A readable diff between two versions of a proposal: lines, prices, totals and text.

Lines are matched by catalogue item and option, then by description; what is left over was
added or removed. Text (sections, terms) is compared word by word on what the client reads,
and returned as HTML with ``<del>``/``<ins>`` around the changed words — every piece of text
escaped first, so a diff never carries markup of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

from throughline.core import money
from throughline.sales.models import ProposalLine, ProposalVersion

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass
class LineChange:
    kind: str  # added, removed, changed
    description: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class TextChange:
    label: str
    kind: str  # added, removed, changed
    html: SafeString


@dataclass
class ListChange:
    label: str
    added: list[str]
    removed: list[str]


@dataclass
class VersionDiff:
    old: ProposalVersion
    new: ProposalVersion
    lines: list[LineChange] = field(default_factory=list)
    totals: list[tuple[str, str, str]] = field(default_factory=list)
    fields: list[tuple[str, str, str]] = field(default_factory=list)
    texts: list[TextChange] = field(default_factory=list)
    lists: list[ListChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.lines or self.totals or self.fields or self.texts or self.lists)


def word_diff(old: str, new: str) -> SafeString:
    """``old`` → ``new`` as escaped HTML with <del> and <ins> around changed words."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    out = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if op in ("insert", "replace"):
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return mark_safe("".join(out))  # noqa: S308 - every piece was escaped above


def _plain(html: str) -> str:
    return " ".join(strip_tags(html or "").split())


def _qty(value) -> str:
    return f"{value.normalize():f}"


def _line_fields(line: ProposalLine, currency: str) -> dict[str, str]:
    return {
        "Description": line.description,
        "Quantity": f"{_qty(line.quantity)} {line.unit}".strip(),
        "Unit price": money.format_money(line.unit_price, currency),
        "Discount": f"{_qty(line.discount_percent)}%",
        "Tax rate": f"{_qty(line.tax_rate)}%",
        "Option": line.option or "—",
        "Amount": money.format_money(line.net_amount, currency),
    }


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _match_lines(old: list[ProposalLine], new: list[ProposalLine]):
    pairs, left, right = [], list(old), list(new)
    for key in (
        lambda ln: (ln.catalogue_item_id, ln.option) if ln.catalogue_item_id else None,
        lambda ln: (_first_line(ln.description), ln.option),
        lambda ln: _first_line(ln.description),
    ):
        for a in list(left):
            ka = key(a)
            if ka is None:
                continue
            b = next((b for b in right if key(b) == ka), None)
            if b is not None:
                pairs.append((a, b))
                left.remove(a)
                right.remove(b)
    return pairs, left, right


def _diff_lines(old: ProposalVersion, new: ProposalVersion, currency: str) -> list[LineChange]:
    old_lines, new_lines = list(old.lines.all()), list(new.lines.all())
    pairs, removed, added = _match_lines(old_lines, new_lines)
    changes = []
    order = {line.pk: i for i, line in enumerate(new_lines)}
    for a, b in sorted(pairs, key=lambda p: order[p[1].pk]):
        fa, fb = _line_fields(a, currency), _line_fields(b, currency)
        changed = [(k, fa[k], fb[k]) for k in fa if fa[k] != fb[k]]
        if changed:
            changes.append(LineChange("changed", _first_line(b.description), changed))
    for line in removed:
        fields = _line_fields(line, currency)
        changes.append(
            LineChange(
                "removed", _first_line(line.description), [(k, v, "") for k, v in fields.items()]
            )
        )
    for line in added:
        fields = _line_fields(line, currency)
        changes.append(
            LineChange(
                "added", _first_line(line.description), [(k, "", v) for k, v in fields.items()]
            )
        )
    return changes


def _list_change(label: str, old: list[str], new: list[str]) -> ListChange | None:
    added = [x for x in new if x not in old]
    removed = [x for x in old if x not in new]
    return ListChange(label, added, removed) if added or removed else None


def _milestone_text(m: dict[str, Any]) -> str:
    when = f" (day {m['offset_days']})" if m.get("offset_days") is not None else ""
    return f"{m['title']}{when}" + (f": {m['description']}" if m.get("description") else "")


def _schedule_text(schedule: dict[str, Any]) -> list[str]:
    if schedule.get("kind") == "retainer":
        term = schedule.get("term_months")
        return [f"Monthly retainer{f' for {term} months' if term else ''}"]
    return [f"{i['percent']}% {i['label']}" for i in schedule.get("items", [])]


def _option_text(o: dict[str, Any]) -> str:
    group = f" [{o['group']}]" if o.get("group") else " [add-on]"
    return f"{o['title']}{group}" + (f": {o['description']}" if o.get("description") else "")


def diff_versions(old: ProposalVersion, new: ProposalVersion) -> VersionDiff:
    currency = new.proposal.currency
    result = VersionDiff(old=old, new=new)
    result.lines = _diff_lines(old, new, currency)

    for label, key in (
        ("Total before tax", "net_total"),
        ("Tax", "tax_total"),
        ("Total", "gross_total"),
    ):
        a, b = getattr(old, key), getattr(new, key)
        if a != b:
            result.totals.append(
                (label, money.format_money(a, currency), money.format_money(b, currency))
            )
    if old.discount_percent != new.discount_percent:
        result.fields.append(
            (
                "Proposal discount",
                f"{_qty(old.discount_percent)}%",
                f"{_qty(new.discount_percent)}%",
            )
        )
    if old.valid_until != new.valid_until:
        result.fields.append(
            ("Valid until", f"{old.valid_until:%d %b %Y}", f"{new.valid_until:%d %b %Y}")
        )

    old_sections = {s["title"]: s["html"] for s in old.rendered.get("sections", [])}
    new_sections = {s["title"]: s["html"] for s in new.rendered.get("sections", [])}
    for title, html in new_sections.items():
        label = title or "Untitled section"
        if title not in old_sections:
            result.texts.append(TextChange(label, "added", word_diff("", _plain(html))))
        elif _plain(old_sections[title]) != _plain(html):
            result.texts.append(
                TextChange(label, "changed", word_diff(_plain(old_sections[title]), _plain(html)))
            )
    for title, html in old_sections.items():
        if title not in new_sections:
            result.texts.append(
                TextChange(title or "Untitled section", "removed", word_diff(_plain(html), ""))
            )
    old_terms, new_terms = (
        _plain(old.rendered.get("terms_html")),
        _plain(new.rendered.get("terms_html")),
    )
    if old_terms != new_terms:
        result.texts.append(TextChange("Terms", "changed", word_diff(old_terms, new_terms)))

    oc, nc = old.content, new.content
    for change in (
        _list_change("In scope", oc.get("in_scope", []), nc.get("in_scope", [])),
        _list_change("Out of scope", oc.get("out_of_scope", []), nc.get("out_of_scope", [])),
        _list_change(
            "Milestones",
            [_milestone_text(m) for m in oc.get("milestones", [])],
            [_milestone_text(m) for m in nc.get("milestones", [])],
        ),
        _list_change(
            "Payment schedule",
            _schedule_text(oc.get("payment_schedule", {})),
            _schedule_text(nc.get("payment_schedule", {})),
        ),
        _list_change(
            "Options",
            [_option_text(o) for o in oc.get("options", [])],
            [_option_text(o) for o in nc.get("options", [])],
        ),
    ):
        if change is not None:
            result.lists.append(change)
    return result
