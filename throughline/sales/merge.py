"""Merge fields in proposal text: ``{{ contact.first_name }}``, ``{{ deal.value }}`` …

The text is rendered by messaging's private template engine (no loaders, no custom tags) with
autoescaping, then sanitized with nh3 — so neither a template author nor a value typed into
the CRM (a company called ``<script>…``) can put markup of their own on the page. On top of
that, only a short list of tags is allowed here: no ``{% include %}``, ``{% load %}``,
``{% url %}`` or ``{% debug %}`` (which would print the context).

The context holds plain strings taken from the version's frozen ``parties`` snapshot, never
model instances, so a template cannot call methods or walk relations.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.template import TemplateSyntaxError
from django.utils import formats
from django.utils.html import escape

from throughline.core.money import format_money
from throughline.messaging.rendering import check_template, render_string, sanitize_html

ALLOWED_TAGS = frozenset(
    {"if", "elif", "else", "endif", "for", "empty", "endfor", "with", "endwith", "firstof", "now"}
)
_TAG = re.compile(r"{%-?\s*(\w+)")
_COMMENT_OPEN = "{#"

# What a template author can use, for the editor's help text and the tests.
MERGE_FIELDS: dict[str, tuple[str, ...]] = {
    "contact": ("first_name", "last_name", "full_name", "email", "phone", "title"),
    "company": ("name", "address", "country", "vat_id", "website"),
    "deal": ("title", "value", "currency", "expected_close"),
    "owner": ("name", "email"),
    "organization": (
        "name",
        "legal_name",
        "address",
        "email",
        "phone",
        "website",
        "vat_id",
        "tax_id",
    ),
    "proposal": ("number", "title", "version", "valid_until", "total", "currency"),
}


def check_merge_source(source: str) -> None:
    """Refuse template syntax errors and tags outside ``ALLOWED_TAGS``."""
    for match in _TAG.finditer(source or ""):
        if match.group(1) not in ALLOWED_TAGS:
            raise ValidationError(f"The tag {{% {match.group(1)} %}} is not allowed here.")
    check_template(source or "")


def render_html(source: str, context: dict[str, Any]) -> str:
    """Merge and sanitize. A broken template yields a visible marker, never a 500."""
    if not source:
        return ""
    try:
        check_merge_source(source)
        html = render_string(source, context, html=True)
    except (ValidationError, TemplateSyntaxError) as exc:
        message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
        return f"<p><em>[This text could not be filled in: {escape(message)}]</em></p>"
    return sanitize_html(html)


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _address(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def parties_snapshot(*, organization, contact, company, owner, deal) -> dict[str, dict[str, str]]:
    """The parties as they are now, as plain strings (DESIGN §3: frozen per version)."""
    street = _address(
        organization.address_line1,
        organization.address_line2,
        " ".join(p for p in (organization.postal_code, organization.city) if p),
    )
    org_address = _address(street, organization.country) if street else ""
    return {
        "organization": {
            "name": _s(organization),
            "legal_name": organization.legal_name,
            "address": org_address,
            "email": organization.email,
            "phone": organization.phone,
            "website": organization.website,
            "vat_id": organization.vat_id,
            "tax_id": organization.tax_id,
        },
        "contact": {
            "id": _s(contact.pk) if contact else "",
            "first_name": contact.first_name if contact else "",
            "last_name": contact.last_name if contact else "",
            "full_name": contact.full_name if contact else "",
            "email": contact.email if contact else "",
            "phone": contact.phone if contact else "",
            "title": contact.title if contact else "",
        },
        "company": {
            "id": _s(company.pk) if company else "",
            "name": company.name if company else "",
            "address": company.address if company else "",
            "country": company.country if company else "",
            "vat_id": company.vat_id if company else "",
            "website": company.website if company else "",
        },
        "owner": {
            "name": _s(owner) if owner else "",
            "email": owner.email if owner else "",
        },
        "deal": {
            "id": _s(deal.pk),
            "title": deal.title,
            "value": format_money(deal.value, deal.currency),
            "currency": deal.currency,
            "expected_close": formats.date_format(deal.expected_close_date, "j F Y")
            if deal.expected_close_date
            else "",
        },
    }


def merge_context(parties: dict, proposal: dict | None = None) -> dict[str, Any]:
    context = {key: dict(parties.get(key, {})) for key in MERGE_FIELDS if key != "proposal"}
    context["proposal"] = dict(proposal or {})
    return context
