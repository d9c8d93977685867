"""Search, whitelisted sorting, pagination and htmx partials shared by the list pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

PAGE_SIZE = 25
MAX_TERMS = 8
MAX_QUERY_LENGTH = 200


def query_text(request: HttpRequest, name: str = "q") -> str:
    return " ".join(request.GET.get(name, "").split())[:MAX_QUERY_LENGTH]


def search_terms(text: str) -> list[str]:
    return text.split()[:MAX_TERMS]


def match_all_terms(text: str, fields: Sequence[str]) -> Q:
    """Every word must appear in at least one of ``fields`` ("ada lovelace" finds Ada Lovelace)."""
    condition = Q()
    for term in search_terms(text):
        any_field = Q()
        for field in fields:
            any_field |= Q(**{f"{field}__icontains": term})
        condition &= any_field
    return condition


def apply_sort(
    queryset: QuerySet,
    requested: str,
    options: Mapping[str, Sequence[str]],
    default: str,
) -> tuple[QuerySet, str]:
    """Order by a whitelisted key (``name``, ``-created`` …); anything else falls back."""
    key = requested if requested.lstrip("-") in options else default
    descending = key.startswith("-")
    fields = [f"-{f}" if descending else f for f in options[key.lstrip("-")]]
    # The primary key last keeps pages stable when the sort field has ties.
    return queryset.order_by(*fields, "-pk" if descending else "pk"), key


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


def wants_partial(request: HttpRequest, target: str) -> bool:
    """An htmx request aimed at ``target``; a history restore needs the whole page."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request and htmx.target == target


def render_page_or_partial(
    request: HttpRequest,
    template: str,
    partial: str,
    target: str,
    context: dict,
    status: int = 200,
) -> HttpResponse:
    chosen = partial if wants_partial(request, target) else template
    response = render(request, chosen, context, status=status)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def safe_next(request: HttpRequest, fallback: str, candidates: Iterable[str | None] = ()) -> str:
    """A same-site ``next`` URL from the form or query, else ``fallback`` (no open redirect)."""
    for url in (*candidates, request.POST.get("next"), request.GET.get("next")):
        if url and url_has_allowed_host_and_scheme(
            url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return url
    return fallback
