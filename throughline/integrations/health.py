"""Integration health: every call recorded, figures over 24 hours, a state, alerts on change.

Other apps report each call they make (or receive) with ``record_integration_call(kind, name,
ok, latency_ms, error)`` — IMAP polls, inbound lead sources, payment gateways; webhook attempts
are recorded by delivery.py. Outgoing e-mail is read from messaging's ``OutboundMessage``
ledger instead (a sent message is a success; each failed try of a message is a failure; its
latency is the time from queueing to acceptance by the SMTP server).

The sweep (tasks.py, every 5 minutes) evaluates each integration over the last 24 hours:

* **down** — the last ``INTEGRATION_DOWN_AFTER_FAILURES`` (3) calls all failed, or a webhook
  endpoint was disabled for failing;
* **degraded** — otherwise, ≥ ``INTEGRATION_DEGRADED_FAILURE_RATE`` (10 %) of the calls failed,
  or the p95 latency is ≥ ``INTEGRATION_DEGRADED_P95_MS`` (5000 ms);
* **healthy** — calls were made and neither of the above holds;
* **idle** — no calls in 24 hours (nothing to judge; a manually disabled endpoint too).

A change *into* degraded or down (including degraded → down) emits ``integration.unhealthy``
once — the state is switched with a conditional UPDATE, so only one evaluation wins — and the
handler in handlers.py e-mails the admins; the pages show a notice while any is unhealthy.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from throughline.core import events
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.integrations import conf
from throughline.integrations.models import Integration, IntegrationCall, WebhookEndpoint

logger = logging.getLogger(__name__)

WINDOW = dt.timedelta(hours=24)
MAX_SAMPLES = 10_000
SMTP_KEY = "default"
# A queued message whose try started less than this long ago may still be talking to the server.
SMTP_IN_FLIGHT = dt.timedelta(seconds=60)

Kind = Integration.Kind
State = Integration.State
_CREDENTIALS = re.compile(r"(?i)(://)[^/@\s]+@")


def redact(text: str) -> str:
    """Error text as stored and shown: credentials in URLs removed, bounded length."""
    return _CREDENTIALS.sub(r"\1***@", str(text or ""))[:500]


def health_actor() -> Actor:
    return Actor.system(channel=Channel.WORKER, label="integration health")


def integration_for(kind: str, key: str, label: str = "") -> Integration:
    if kind not in Kind.values:
        raise ValueError(f"Unknown integration kind {kind!r}; one of {sorted(Kind.values)}")
    integration = Integration.objects.filter(kind=kind, key=key).first()
    if integration is None:
        try:
            with transaction.atomic():
                integration = Integration.objects.create(kind=kind, key=key, label=label or key)
        except IntegrityError:  # created by a concurrent call
            integration = Integration.objects.get(kind=kind, key=key)
    elif label and integration.label != label:
        Integration.objects.filter(pk=integration.pk).update(label=label[:200])
        integration.label = label[:200]
    return integration


def record_integration_call(
    kind: str,
    name: str,
    ok: bool,
    latency_ms: int | float | None,
    error: str = "",
    *,
    label: str = "",
    at: dt.datetime | None = None,
) -> IntegrationCall:
    """Record one call to an integration (``kind`` is an ``Integration.Kind`` value).

    ``name`` identifies the integration within its kind ("stripe", "imap:sales@…", a lead source
    slug); ``label`` is how the health page shows it (``name`` when left out). Never pass
    secrets in ``error``; URLs with credentials are redacted anyway.
    """
    at = at or timezone.now()
    integration = integration_for(kind, name[:120], label or name)
    latency = None if latency_ms is None else max(0, round(latency_ms))
    call = IntegrationCall.objects.create(
        integration=integration, at=at, ok=ok, latency_ms=latency, error=redact(error)
    )
    # Plain UPDATEs of single fields: concurrent recorders and the sweep do not overwrite
    # each other's columns.
    if ok:
        Integration.objects.filter(pk=integration.pk).update(last_success_at=at)
    else:
        Integration.objects.filter(pk=integration.pk).update(
            last_failure_at=at, last_error=redact(error)
        )
    return call


@dataclass
class Stats:
    calls: int = 0
    failures: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None
    recent_ok: list[bool] = field(default_factory=list)  # newest first
    last_error: str = ""

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.calls if self.calls else None


def percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile (``p`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _stats_from(samples: list[tuple[dt.datetime, bool, int | None, str]]) -> Stats:
    # Newest first; the sort is stable, so calls recorded at the same instant keep their order.
    samples.sort(key=lambda s: s[0], reverse=True)
    samples = samples[:MAX_SAMPLES]
    latencies = [s[2] for s in samples if s[2] is not None]
    failures = [s for s in samples if not s[1]]
    return Stats(
        calls=len(samples),
        failures=len(failures),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        recent_ok=[s[1] for s in samples[:10]],
        last_error=failures[0][3] if failures else "",
    )


def _recorded_stats(integration: Integration, now: dt.datetime) -> Stats:
    rows = (
        IntegrationCall.objects.filter(integration=integration, at__gt=now - WINDOW, at__lte=now)
        .order_by("-at", "-id")
        .values_list("at", "ok", "latency_ms", "error")[:MAX_SAMPLES]
    )
    return _stats_from([tuple(row) for row in rows])


def _smtp_stats(integration: Integration, now: dt.datetime) -> Stats:
    from throughline.messaging.models import OutboundMessage

    status = OutboundMessage.Status
    samples: list[tuple[dt.datetime, bool, int | None, str]] = []
    rows = (
        OutboundMessage.objects.filter(updated_at__gt=now - WINDOW, attempts__gt=0)
        .exclude(status=status.SUPPRESSED)
        .values_list("status", "attempts", "created_at", "sent_at", "updated_at", "status_reason")
        .order_by("-updated_at")[:MAX_SAMPLES]
    )
    last_failure = None
    for state, attempts, created, sent, updated, reason in rows:
        if state == status.SENT and sent is not None:
            latency = max(0, round((sent - created).total_seconds() * 1000))
            samples.append((sent, True, latency, ""))
            failed_tries = attempts - 1
        elif state == status.FAILED:
            failed_tries = attempts
        elif state == status.QUEUED and updated < now - SMTP_IN_FLIGHT:
            failed_tries = attempts
            reason = reason or "not accepted by the SMTP server yet; retrying"
        else:
            continue
        samples.extend((updated, False, None, reason) for _ in range(failed_tries))
        if failed_tries and (last_failure is None or updated > last_failure):
            last_failure = updated
    stats = _stats_from(samples)
    last_success = OutboundMessage.objects.aggregate(at=Max("sent_at"))["at"]
    Integration.objects.filter(pk=integration.pk).update(
        last_success_at=last_success,
        last_failure_at=last_failure or integration.last_failure_at,
        last_error=redact(stats.last_error) or integration.last_error,
    )
    return stats


def stats_for(integration: Integration, now: dt.datetime | None = None) -> Stats:
    now = now or timezone.now()
    if integration.kind == Kind.SMTP:
        return _smtp_stats(integration, now)
    return _recorded_stats(integration, now)


def _endpoint_of(integration: Integration) -> WebhookEndpoint | None:
    if integration.kind != Kind.WEBHOOK:
        return None
    return WebhookEndpoint.objects.filter(pk=integration.key).first()


def classify(stats: Stats, endpoint: WebhookEndpoint | None = None) -> tuple[str, str]:
    """The state and a one-line reason, by the thresholds in the module docstring."""
    if endpoint is not None and not endpoint.is_active:
        if endpoint.disabled_automatically:
            return State.DOWN, f"Disabled for failing: {endpoint.disabled_reason}"[:300]
        return State.IDLE, "Disabled by a user"
    if stats.calls == 0:
        return State.IDLE, "No calls in the last 24 hours"
    needed = int(conf.get("INTEGRATION_DOWN_AFTER_FAILURES"))
    recent = stats.recent_ok[:needed]
    if len(recent) >= needed and not any(recent):
        return State.DOWN, f"The last {needed} calls failed: {stats.last_error}"[:300]
    rate = stats.failure_rate or 0.0
    if stats.failures and rate >= float(conf.get("INTEGRATION_DEGRADED_FAILURE_RATE")):
        return State.DEGRADED, (
            f"{stats.failures} of {stats.calls} calls failed in 24 h ({rate:.0%}): "
            f"{stats.last_error}"
        )[:300]
    slow = int(conf.get("INTEGRATION_DEGRADED_P95_MS"))
    if stats.p95_ms is not None and stats.p95_ms >= slow:
        return State.DEGRADED, f"Slow: p95 latency {stats.p95_ms} ms (limit {slow} ms)"
    return State.HEALTHY, f"{stats.calls} calls in 24 h, {stats.failures} failed"


@transaction.atomic
def evaluate(integration: Integration, now: dt.datetime | None = None) -> str:
    """Recompute figures and state; emit ``integration.unhealthy`` on a change into trouble."""
    now = now or timezone.now()
    stats = stats_for(integration, now)
    endpoint = _endpoint_of(integration)
    state, reason = classify(stats, endpoint)
    Integration.objects.filter(pk=integration.pk).update(
        evaluated_at=now,
        calls_24h=stats.calls,
        failures_24h=stats.failures,
        p50_ms=stats.p50_ms,
        p95_ms=stats.p95_ms,
        state_reason=reason,
    )
    previous = integration.state
    if state == previous:
        return state
    switched = Integration.objects.filter(pk=integration.pk, state=previous).update(
        state=state, state_changed_at=now
    )
    integration.refresh_from_db()
    if switched != 1:
        return integration.state  # another evaluation got there first (and alerted)
    logger.info("Integration %s: %s → %s (%s)", integration, previous, state, reason)
    if state in {State.DEGRADED, State.DOWN}:
        payload = {
            "kind": integration.kind,
            "key": integration.key,
            "label": integration.label,
            "state": state,
            "previous_state": previous,
            "reason": reason,
            "calls_24h": stats.calls,
            "failures_24h": stats.failures,
            "p95_ms": stats.p95_ms,
        }
        if endpoint is not None:
            payload["endpoint_id"] = str(endpoint.pk)
        events.emit(health_actor(), "integration.unhealthy", integration, **payload)
    return state


def smtp_label() -> str:
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "smtp":
        return f"Outgoing e-mail via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return f"Outgoing e-mail ({backend} backend)"


def sync_integrations() -> None:
    """Make sure SMTP and every webhook endpoint have a row; drop rows of deleted endpoints."""
    integration_for(Kind.SMTP, SMTP_KEY, smtp_label())
    endpoints = {str(pk): name for pk, name in WebhookEndpoint.objects.values_list("pk", "name")}
    for key, name in endpoints.items():
        integration_for(Kind.WEBHOOK, key, name)
    Integration.objects.filter(kind=Kind.WEBHOOK).exclude(key__in=list(endpoints)).delete()


def sweep(now: dt.datetime | None = None) -> dict[str, str]:
    """Evaluate every integration; return ``{label: state}``."""
    now = now or timezone.now()
    sync_integrations()
    states = {}
    for integration in Integration.objects.all():
        states[integration.label] = evaluate(integration, now)
    keep = dt.timedelta(days=float(conf.get("INTEGRATION_CALL_RETENTION_DAYS")))
    IntegrationCall.objects.filter(at__lt=now - keep).delete()
    return states


def unhealthy():
    return Integration.objects.filter(state__in=[State.DEGRADED, State.DOWN])
