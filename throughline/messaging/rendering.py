"""Rendering e-mail templates with merge fields, safely.

Templates are written by staff in Django's template language (no code execution). Values are
escaped in the HTML part; the HTML that results is sanitized with nh3 all the same.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import nh3
from django.core.exceptions import ValidationError
from django.template import Context, Engine, Template, TemplateSyntaxError

# A private engine: no loaders, no custom tags, nothing but variables and basic filters.
_ENGINE = Engine(debug=False, libraries={}, builtins=["django.template.defaultfilters"])


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str


def check_template(source: str) -> None:
    try:
        _ENGINE.from_string(source)
    except TemplateSyntaxError as exc:
        raise ValidationError(f"Template error: {exc}") from exc


@functools.lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    """Templates parsed once per process (a template object renders any context, any thread)."""
    return _ENGINE.from_string(source)


def render_string(source: str, context: dict[str, Any], *, html: bool) -> str:
    return _compiled(source).render(Context(context, autoescape=html))


def sanitize_html(html: str) -> str:
    return nh3.clean(html, link_rel="noopener noreferrer")


def render_email(
    subject: str, body_text: str, body_html: str, context: dict[str, Any]
) -> RenderedEmail:
    rendered_subject = " ".join(render_string(subject, context, html=False).split())
    text = render_string(body_text, context, html=False)
    html = sanitize_html(render_string(body_html, context, html=True)) if body_html else ""
    return RenderedEmail(rendered_subject[:300], text, html)
