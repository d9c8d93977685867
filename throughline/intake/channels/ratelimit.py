"""Per-IP / per-key limits for the public channels (forms, hooks), on Django's cache.

Built on ``django-ratelimit``'s ``get_usage`` (fixed windows, counters in the cache, IPv6
addresses grouped per /64). Limits are counted in the ``default`` cache (setting
``RATELIMIT_USE_CACHE`` picks another).

TRICKY: Django's default cache is in-process memory. With several web processes each counts
on its own, so a visitor gets up to N × the limit; with many processes configure a shared
cache (Redis or Memcached: ``CACHES`` with ``RATELIMIT_USE_CACHE``) so the limit is global.
The database cache works too but its increment is not atomic. When the cache cannot be
reached, requests are refused (``RATELIMIT_FAIL_OPEN`` = True lets them through instead).

The client address is ``REMOTE_ADDR`` (see ``core.actor.client_ip``); behind a reverse proxy,
set ``RATELIMIT_IP_META_KEY`` to a callable that reads the proxy's header.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django_ratelimit.core import get_usage


@dataclass(frozen=True)
class Limited:
    """A refused request: how long until the window resets."""

    retry_after: int
    limit: int


def hit(request: HttpRequest, group: str, rate: str, key: str | None = None) -> Limited | None:
    """Count one request of ``group`` for ``key`` (default: the client IP) against ``rate``.

    ``rate`` is "<count>/<period>" ("20/h", "5/m", "100/10m"). Returns ``Limited`` when this
    request is over the limit, else None.
    """
    if key is None:
        usage = get_usage(request, group=group, key="ip", rate=rate, increment=True)
    else:
        usage = get_usage(request, group=group, key=lambda g, r: key, rate=rate, increment=True)
    if usage is None or not usage["should_limit"]:
        return None
    return Limited(retry_after=max(1, int(usage["time_left"])), limit=usage["limit"])


def peek(request: HttpRequest, group: str, rate: str, key: str | None = None) -> bool:
    """True when ``key`` is already over the limit (without counting this request)."""
    usage = get_usage(
        request,
        group=group,
        key="ip" if key is None else (lambda g, r: key),
        rate=rate,
        increment=False,
    )
    return usage is not None and usage["count"] >= usage["limit"]
