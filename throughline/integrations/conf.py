"""This app's tunables, with their defaults, in one place (docs/WEBHOOKS.md explains them).

Only ``WEBHOOKS_ALLOW_PRIVATE_TARGETS`` is read from the environment (throughline/settings.py);
the rest are plain settings with defaults here, so tests can shorten them with the ``settings``
fixture and an installation can override them in its settings module.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings

DEFAULTS = {
    # Delivery schedule: attempt n+1 waits uniform(c/2, c) with c = min(base·2^(n-1), max).
    "WEBHOOK_RETRY_BASE_SECONDS": 60,
    "WEBHOOK_RETRY_MAX_DELAY_SECONDS": 12 * 3600,
    # A delivery gives up when its next attempt would fall later than this after it was created.
    "WEBHOOK_RETRY_WINDOW_HOURS": 72,
    "WEBHOOK_MAX_ATTEMPTS": 30,
    # Auto-disable: failing (no success at all) for this long with at least MIN failures,
    # or this many failed attempts in a row, whichever comes first.
    "WEBHOOK_DISABLE_AFTER_HOURS": 24,
    "WEBHOOK_DISABLE_MIN_FAILURES": 5,
    "WEBHOOK_DISABLE_AFTER_FAILURES": 100,
    # Overlap while both the old and the new secret sign requests after a rotation.
    "WEBHOOK_SECRET_OVERLAP_HOURS": 24,
    # Ledger retention: finished deliveries (and their attempts), and health samples.
    "WEBHOOK_LOG_RETENTION_DAYS": 30,
    "INTEGRATION_CALL_RETENTION_DAYS": 7,
    # Health thresholds (health.py).
    "INTEGRATION_DOWN_AFTER_FAILURES": 3,
    "INTEGRATION_DEGRADED_FAILURE_RATE": 0.10,
    "INTEGRATION_DEGRADED_P95_MS": 5000,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])


def hours(name: str) -> dt.timedelta:
    return dt.timedelta(hours=float(get(name)))
