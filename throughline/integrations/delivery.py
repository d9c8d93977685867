"""The webhook delivery ledger: create deliveries, send attempts, decide what happens next.

Life of a delivery (docs/WEBHOOKS.md has the receiver's view):

1. ``queue_event_deliveries`` — the ``"*"`` event handler — creates one ``WebhookDelivery`` per
   subscribed active endpoint and enqueues ``deliver_webhook`` for it, in the transaction that
   records the event as handled: a delivery exists once per (event, endpoint).
2. ``deliver_webhook(delivery_id, expected_attempts)`` claims the next attempt number under a
   row lock (a duplicate or stale job finds the count moved on and does nothing), writes the
   attempt row, then POSTs outside any transaction.
3. The outcome is recorded in one transaction with the decision:
   * 2xx → delivered;
   * 4xx other than 408/429, or a URL the SSRF guard refuses → failed for good;
   * 3xx (never followed), 408, 429, 5xx, timeouts, refused connections, garbage → retried:
     attempt n+1 runs after ``uniform(c/2, c)`` with ``c = min(60 s · 2^(n-1), 12 h)`` (a
     ``Retry-After`` up to 12 h is honoured when longer), by enqueueing the job again with
     ``run_after``. When the next attempt would fall more than 72 h after the delivery was
     created, it gives up instead: roughly 1, 2, 4 … 512 minutes, then every 6–12 h — 15 to
     21 attempts in all, 17–18 typically.
   Giving up emits ``webhook.delivery_failed``.
4. Every attempt moves the endpoint's failure streak. An endpoint with no success for 24 h
   (and ≥ 5 failed attempts), or 100 failed attempts in a row, is disabled: its pending
   deliveries stop (``cancelled``; re-enabling can resume them) and its owner is e-mailed.

If a worker dies in the middle of a request, the job is handed back and the same attempt is
sent again: delivery is at least once, and receivers de-duplicate on the event ``id``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import random

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log, events
from throughline.core.actor import Actor
from throughline.core.jobs import job
from throughline.core.models import Channel, DomainEvent, User
from throughline.core.roles import Role
from throughline.integrations import conf, health, signing, ssrf, transport
from throughline.integrations.models import (
    Integration,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

USER_AGENT = "Throughline-Webhooks/1"
Status = WebhookDelivery.Status
Outcome = WebhookDeliveryAttempt.Outcome
# Events about one endpoint are not sent to that endpoint (it is the one failing).
SELF_REFERENTIAL = {"webhook.delivery_failed", "integration.unhealthy"}


def webhook_actor() -> Actor:
    return Actor.system(channel=Channel.WORKER, label="webhooks")


# -- the body and its signature ---------------------------------------------------------------
def utc_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def event_body(event: DomainEvent) -> str:
    """The JSON every endpoint receives for ``event`` (compact, keys sorted)."""
    document = {
        "id": str(event.id),
        "name": event.name,
        "occurred_at": utc_iso(event.occurred_at),
        "subject": {"type": event.subject_type, "id": event.subject_id},
        "payload": event.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True)


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The current secret, then the previous one while its overlap lasts."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def request_headers(
    endpoint: WebhookEndpoint, delivery: WebhookDelivery, number: int, now: dt.datetime
) -> dict[str, str]:
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Throughline-Event": delivery.event_name,
        "Throughline-Delivery": str(delivery.pk),
        "Throughline-Attempt": str(number),
        signing.SIGNATURE_HEADER: signing.signature_header(
            signing_secrets(endpoint, now), timestamp, delivery.body
        ),
    }


# -- creating deliveries --------------------------------------------------------------------
def enqueue_delivery(
    endpoint: WebhookEndpoint,
    *,
    event_name: str,
    body: str,
    idempotency_key: str,
    event: DomainEvent | None = None,
) -> WebhookDelivery:
    """Create (once per key) a delivery and enqueue its first attempt, in the caller's transaction."""
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            endpoint=endpoint,
            idempotency_key=idempotency_key[:200],
            defaults={"event": event, "event_name": event_name, "body": body},
        )
        if created:
            deliver_webhook.enqueue(str(delivery.pk), 0)
    return delivery


def _about_itself(endpoint: WebhookEndpoint, event: DomainEvent) -> bool:
    return event.name in SELF_REFERENTIAL and event.payload.get("endpoint_id") == str(endpoint.pk)


def queue_event_deliveries(event: DomainEvent) -> list[WebhookDelivery]:
    """One delivery per active endpoint subscribed to ``event`` (the ``"*"`` handler)."""
    endpoints = [
        endpoint
        for endpoint in WebhookEndpoint.objects.filter(is_active=True)
        if endpoint.subscribes_to(event.name) and not _about_itself(endpoint, event)
    ]
    if not endpoints:
        return []
    body = event_body(event)
    return [
        enqueue_delivery(
            endpoint,
            event_name=event.name,
            body=body,
            idempotency_key=f"event:{event.id}",
            event=event,
        )
        for endpoint in endpoints
    ]


# -- the schedule -----------------------------------------------------------------------------
def retry_delay(failed_attempt: int) -> float:
    """Seconds to wait after the ``failed_attempt``-th attempt failed (exponential, jittered)."""
    base = float(conf.get("WEBHOOK_RETRY_BASE_SECONDS"))
    ceiling = min(
        float(conf.get("WEBHOOK_RETRY_MAX_DELAY_SECONDS")), base * 2 ** (failed_attempt - 1)
    )
    return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(value: str, now: dt.datetime) -> float | None:
    """A ``Retry-After`` header (seconds or an HTTP date), if it makes sense."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def classify(result: transport.Result) -> tuple[str, str]:
    """``(outcome, reason)``: success, retry, or failed (retrying cannot help)."""
    if result.ok:
        return Outcome.SUCCESS, ""
    if result.permanent:
        return Outcome.FAILED, result.error
    status = result.status
    if status is None:
        return Outcome.RETRY, result.error
    if 300 <= status < 400:
        location = result.headers.get("location", "")
        target = f" to {ssrf.sanitize_url(location)}" if location else ""
        return Outcome.RETRY, f"HTTP {status}: redirect{target} not followed"
    if status in (408, 429):
        return Outcome.RETRY, f"HTTP {status}"
    if 400 <= status < 500:
        return Outcome.FAILED, f"HTTP {status}: the receiver refused the request (not retried)"
    detail = f": {result.error}" if result.error else ""
    return Outcome.RETRY, f"HTTP {status}{detail}"


# -- sending ----------------------------------------------------------------------------------
@job(max_attempts=5)
def deliver_webhook(delivery_id: str, expected_attempts: int, replay: bool = False) -> str:
    """Send the next attempt of a delivery. HTTP failures are handled here and rescheduled;
    the job's own retries only cover crashes (a database error, a killed worker)."""
    claimed = _claim(delivery_id, expected_attempts, replay)
    if isinstance(claimed, str):
        return claimed
    attempt = claimed
    delivery = attempt.delivery
    result = transport.post(
        delivery.endpoint.url, delivery.body.encode(), dict(attempt.request_headers)
    )
    return _settle(attempt.pk, result, replay)


def _claim(delivery_id: str, expected: int, replay: bool) -> WebhookDeliveryAttempt | str:
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            return "skipped: delivery deleted (with its endpoint)"
        if not replay and delivery.status != Status.PENDING:
            return f"skipped: delivery is {delivery.status}"
        endpoint = delivery.endpoint
        now = timezone.now()
        number = expected + 1
        if delivery.attempt_count == expected:
            if not endpoint.is_active:
                if delivery.status == Status.PENDING:
                    _cancel(delivery, "The endpoint is disabled.")
                return "skipped: endpoint disabled"
            attempt = WebhookDeliveryAttempt(
                delivery=delivery, number=number, is_replay=replay, started_at=now
            )
            delivery.attempt_count = number
            delivery.next_attempt_at = None
            delivery.save(update_fields=["attempt_count", "next_attempt_at", "updated_at"])
        else:
            attempt = WebhookDeliveryAttempt.objects.filter(
                delivery=delivery, number=number, outcome=Outcome.IN_FLIGHT
            ).first()
            if delivery.attempt_count != number or attempt is None:
                return "skipped: attempt already made"
            # A worker died during this attempt; send it again (at least once).
            logger.warning(
                "Webhook delivery %s: resending interrupted attempt %d", delivery.pk, number
            )
            attempt.started_at = now
        attempt.request_url = ssrf.sanitize_url(endpoint.url)
        attempt.request_headers = request_headers(endpoint, delivery, number, now)
        attempt.request_body = delivery.body
        attempt.save()
    return attempt


def _settle(attempt_id: int, result: transport.Result, replay: bool) -> str:
    outcome, reason = classify(result)
    with transaction.atomic():
        attempt = WebhookDeliveryAttempt.objects.select_related("delivery").get(pk=attempt_id)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=attempt.delivery.endpoint_id)
        delivery = WebhookDelivery.objects.select_for_update().get(pk=attempt.delivery_id)
        now = timezone.now()

        attempt.finished_at = now
        attempt.response_status = result.status
        attempt.response_headers = result.headers
        attempt.response_excerpt = result.excerpt
        attempt.latency_ms = result.latency_ms
        # A 2xx whose body could not be read completely still counts (the receiver accepted
        # it); what went wrong is noted on the attempt.
        attempt.error = health.redact(reason or result.error)
        delivery.last_status_code = result.status
        delivery.last_error = health.redact(reason)

        if outcome == Outcome.SUCCESS:
            delivery.status, delivery.completed_at, delivery.next_attempt_at = (
                Status.SUCCEEDED,
                now,
                None,
            )
        elif replay:
            outcome = Outcome.FAILED  # a replay is one manual attempt, never rescheduled
            delivery.status, delivery.completed_at = Status.FAILED, now
        elif delivery.status == Status.CANCELLED:
            outcome = Outcome.FAILED  # the endpoint was disabled while this was in flight
        elif outcome == Outcome.RETRY:
            outcome = _schedule_retry(delivery, result, now)
        else:
            _give_up(delivery, now)
        attempt.outcome = outcome
        attempt.save()
        delivery.save()
        _move_streak(endpoint, outcome == Outcome.SUCCESS, now)
        health.record_integration_call(
            Integration.Kind.WEBHOOK,
            str(endpoint.pk),
            ok=outcome == Outcome.SUCCESS,
            latency_ms=result.latency_ms,
            error=reason,
            label=endpoint.name,
            at=now,
        )
        if outcome != Outcome.SUCCESS and endpoint.is_active:
            why = disable_reason(endpoint, now)
            if why:
                stop_endpoint(webhook_actor(), endpoint, why, automatically=True)
                if outcome == Outcome.RETRY:  # the retry just scheduled was stopped with it
                    outcome = Outcome.FAILED
                    attempt.outcome = outcome
                    attempt.save(update_fields=["outcome"])
    logger.info(
        "Webhook delivery %s attempt %d to %s: %s%s",
        delivery.pk,
        attempt.number,
        attempt.request_url,
        outcome,
        f" ({reason})" if reason else "",
    )
    return outcome


def _schedule_retry(delivery: WebhookDelivery, result: transport.Result, now: dt.datetime) -> str:
    delay = retry_delay(delivery.attempt_count)
    requested = retry_after_seconds(result.headers.get("retry-after", ""), now)
    if requested is not None:
        delay = max(delay, min(requested, float(conf.get("WEBHOOK_RETRY_MAX_DELAY_SECONDS"))))
    next_at = now + dt.timedelta(seconds=delay)
    deadline = delivery.created_at + conf.hours("WEBHOOK_RETRY_WINDOW_HOURS")
    if next_at > deadline or delivery.attempt_count >= int(conf.get("WEBHOOK_MAX_ATTEMPTS")):
        delivery.last_error = (
            f"{delivery.last_error} — gave up after {delivery.attempt_count} attempts"[:500]
        )
        _give_up(delivery, now)
        return Outcome.FAILED
    delivery.next_attempt_at = next_at
    deliver_webhook.using(run_after=next_at).enqueue(str(delivery.pk), delivery.attempt_count)
    return Outcome.RETRY


def _give_up(delivery: WebhookDelivery, now: dt.datetime) -> None:
    delivery.status, delivery.completed_at, delivery.next_attempt_at = Status.FAILED, now, None
    if delivery.event_name == "webhook.delivery_failed":
        return  # never a failure report about a failure report: no loops
    cause = (
        delivery.event if delivery.event and delivery.event.depth < events.MAX_CHAIN_DEPTH else None
    )
    events.emit(
        webhook_actor(),
        "webhook.delivery_failed",
        delivery,
        cause=cause,
        endpoint_id=str(delivery.endpoint_id),
        event_id=str(delivery.event_id) if delivery.event_id else None,
        event_name=delivery.event_name,
        attempts=delivery.attempt_count,
        last_status_code=delivery.last_status_code,
        error=delivery.last_error,
    )


def _cancel(delivery: WebhookDelivery, why: str) -> None:
    delivery.status, delivery.next_attempt_at = Status.CANCELLED, None
    delivery.completed_at = timezone.now()
    delivery.last_error = why[:500]
    delivery.save(
        update_fields=["status", "next_attempt_at", "completed_at", "last_error", "updated_at"]
    )


# -- the endpoint's failure streak and auto-disable -------------------------------------------
def _move_streak(endpoint: WebhookEndpoint, ok: bool, now: dt.datetime) -> None:
    if ok:
        endpoint.consecutive_failures, endpoint.failing_since = 0, None
        endpoint.last_success_at = now
    else:
        endpoint.consecutive_failures += 1
        endpoint.failing_since = endpoint.failing_since or now
        endpoint.last_failure_at = now
    endpoint.save(
        update_fields=[
            "consecutive_failures",
            "failing_since",
            "last_success_at",
            "last_failure_at",
            "updated_at",
        ]
    )


def disable_reason(endpoint: WebhookEndpoint, now: dt.datetime) -> str:
    """Why the endpoint should be disabled now, or "" (thresholds in conf.py)."""
    failures = endpoint.consecutive_failures
    if failures >= int(conf.get("WEBHOOK_DISABLE_AFTER_FAILURES")):
        return f"{failures} failed attempts in a row"
    window = conf.hours("WEBHOOK_DISABLE_AFTER_HOURS")
    if (
        endpoint.failing_since is not None
        and now - endpoint.failing_since >= window
        and failures >= int(conf.get("WEBHOOK_DISABLE_MIN_FAILURES"))
    ):
        hours = (now - endpoint.failing_since).total_seconds() / 3600
        return f"every attempt failed for {hours:.0f} hours ({failures} attempts)"
    return ""


def stop_endpoint(
    actor: Actor, endpoint: WebhookEndpoint, reason: str, *, automatically: bool
) -> int:
    """Disable ``endpoint`` and stop its pending deliveries; returns how many were stopped."""
    now = timezone.now()
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    endpoint.disabled_automatically = automatically
    endpoint.save(
        update_fields=[
            "is_active",
            "disabled_at",
            "disabled_reason",
            "disabled_automatically",
            "updated_at",
        ]
    )
    stopped = WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.PENDING).update(
        status=Status.CANCELLED,
        next_attempt_at=None,
        completed_at=now,
        last_error="Stopped: the endpoint was disabled.",
        updated_at=now,
    )
    audit_log.record(
        actor,
        "webhook.disabled",
        endpoint,
        changes={
            "is_active": [True, False],
            "reason": [None, endpoint.disabled_reason],
            "stopped_deliveries": [None, stopped],
        },
    )
    if automatically:
        logger.warning(
            "Webhook endpoint %s (%s) disabled: %s",
            endpoint.pk,
            ssrf.sanitize_url(endpoint.url),
            reason,
        )
        _email_owner_disabled(actor, endpoint, stopped)
        integration = health.integration_for(
            Integration.Kind.WEBHOOK, str(endpoint.pk), endpoint.name
        )
        health.evaluate(integration, now)
    return stopped


def owner_addresses(endpoint: WebhookEndpoint) -> list[str]:
    """The endpoint's owner; without one (or an inactive one), the organization's owners."""
    if endpoint.owner is not None and endpoint.owner.is_active:
        return [endpoint.owner.email]
    return list(
        User.objects.filter(is_active=True, role=Role.OWNER)
        .order_by("email")
        .values_list("email", flat=True)
    )


def _email_owner_disabled(actor: Actor, endpoint: WebhookEndpoint, stopped: int) -> None:
    from django.conf import settings
    from django.urls import reverse

    from throughline.messaging.services import queue_email

    last = (
        WebhookDeliveryAttempt.objects.filter(delivery__endpoint=endpoint)
        .exclude(error="")
        .order_by("-finished_at")
        .first()
    )
    link = settings.BASE_URL + reverse("integrations:endpoint_detail", args=[endpoint.pk])
    body = (
        f"The webhook endpoint “{endpoint.name}” ({ssrf.sanitize_url(endpoint.url)}) was "
        f"disabled because {endpoint.disabled_reason}.\n\n"
        f"Last error: {last.error if last else '—'}\n"
        f"Deliveries stopped: {stopped}.\n\n"
        "No more events are sent to it until it is enabled again; enabling it can resend the "
        f"stopped deliveries. Delivery log:\n{link}\n"
    )
    for address in owner_addresses(endpoint):
        queue_email(
            actor,
            to=address,
            subject=f"Webhook endpoint disabled: {endpoint.name}",
            body_text=body,
            source=f"integrations.webhookendpoint:{endpoint.pk}",
            idempotency_key=(
                f"webhook-disabled:{endpoint.pk}:{endpoint.disabled_at.isoformat()}:{address}"
            ),
        )
