"""Write operations on webhook endpoints and deliveries — called alike by views, API and tasks.

Each runs in one transaction, validates, and leaves an audit entry. Audit entries and logs show
URLs without credentials or query (``ssrf.sanitize_url``) and never a secret.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.events import EVENT_NAMES
from throughline.core.models import User
from throughline.integrations import conf, delivery, health, signing, ssrf
from throughline.integrations.models import Integration, WebhookDelivery, WebhookEndpoint

Status = WebhookDelivery.Status
EDITABLE = ("name", "url", "description", "event_types", "owner")


def clean_event_types(value: Any) -> list[str]:
    """A non-empty list of known event names, or ``["*"]`` for all of them."""
    if isinstance(value, str):
        value = [part.strip() for part in value.replace(",", " ").split()]
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError({"event_types": ["Choose at least one event, or * for all."]})
    names = sorted({str(v).strip() for v in value if str(v).strip()})
    unknown = [n for n in names if n != "*" and n not in EVENT_NAMES]
    if unknown:
        raise ValidationError({"event_types": [f"Unknown event: {', '.join(unknown)}."]})
    return ["*"] if "*" in names else names


def clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise ValidationError({"url": ["At most 2000 characters."]})
    try:
        ssrf.check_url(url)
    except ssrf.OutboundURLRefused as exc:
        raise ValidationError({"url": [str(exc)]}) from exc
    return url


def _clean(fields: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in fields.items():
        try:
            if key == "name":
                value = (value or "").strip()
                if not value:
                    raise ValidationError({"name": ["Give the endpoint a name."]})
                if len(value) > 120:
                    raise ValidationError({"name": ["At most 120 characters."]})
            elif key == "url":
                value = clean_url(value)
            elif key == "event_types":
                value = clean_event_types(value)
            elif key == "description":
                value = (value or "").strip()[:300]
            elif key == "owner" and value is not None and not isinstance(value, User):
                raise ValidationError({"owner": ["Choose a user."]})
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            continue
        cleaned[key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def _audit_view(values: dict[str, Any]) -> dict[str, Any]:
    shown = dict(values)
    if "url" in shown:
        shown["url"] = ssrf.sanitize_url(shown["url"])
    if "owner" in shown:
        shown["owner"] = shown["owner"].email if shown["owner"] is not None else None
    return shown


@transaction.atomic
def create_endpoint(
    actor: Actor,
    *,
    name: str,
    url: str,
    event_types: list[str] | str,
    description: str = "",
    owner: User | None = None,
) -> WebhookEndpoint:
    """A new, active endpoint with a fresh secret (readable on the returned object, once)."""
    values = _clean(
        {
            "name": name,
            "url": url,
            "event_types": event_types,
            "description": description,
            "owner": owner,
        }
    )
    if values["owner"] is None:
        values["owner"] = actor.user
    endpoint = WebhookEndpoint.objects.create(secret=signing.generate_secret(), **values)
    health.integration_for(Integration.Kind.WEBHOOK, str(endpoint.pk), endpoint.name)
    audit_log.record(
        actor,
        "webhook.created",
        endpoint,
        changes={k: [None, v] for k, v in _audit_view(values).items()},
    )
    return endpoint


@transaction.atomic
def update_endpoint(actor: Actor, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({k: ["This field cannot be changed."] for k in sorted(unknown)})
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    values = _clean(changes)
    before = _audit_view({k: getattr(endpoint, k) for k in values})
    for key, value in values.items():
        setattr(endpoint, key, value)
    endpoint.save()
    if "name" in values:
        health.integration_for(Integration.Kind.WEBHOOK, str(endpoint.pk), endpoint.name)
    after = _audit_view(values)
    diff = {k: [before[k], after[k]] for k in values if before[k] != after[k]}
    if diff:
        audit_log.record(actor, "webhook.updated", endpoint, changes=diff)
    return endpoint


@transaction.atomic
def delete_endpoint(actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its delivery log (the audit log keeps that it existed)."""
    audit_log.record(
        actor,
        "webhook.deleted",
        endpoint,
        changes={"name": [endpoint.name, None], "url": [ssrf.sanitize_url(endpoint.url), None]},
    )
    Integration.objects.filter(kind=Integration.Kind.WEBHOOK, key=str(endpoint.pk)).delete()
    endpoint.delete()


@transaction.atomic
def rotate_secret(
    actor: Actor, endpoint: WebhookEndpoint, *, overlap_hours: float | None = None
) -> WebhookEndpoint:
    """New secret now; the old one keeps signing (a second ``v1``) for the overlap.

    With ``overlap_hours=0`` the old secret stops at once (for a leaked secret).
    """
    if overlap_hours is None:
        overlap_hours = float(conf.get("WEBHOOK_SECRET_OVERLAP_HOURS"))
    if overlap_hours < 0 or overlap_hours > 24 * 30:
        raise ValidationError({"overlap_hours": ["Between 0 and 720 hours."]})
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    now = timezone.now()
    if overlap_hours:
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + dt.timedelta(hours=overlap_hours)
    else:
        endpoint.previous_secret, endpoint.previous_secret_expires_at = "", None
    endpoint.secret = signing.generate_secret()
    endpoint.secret_rotated_at = now
    endpoint.save(
        update_fields=[
            "secret",
            "previous_secret",
            "previous_secret_expires_at",
            "secret_rotated_at",
            "updated_at",
        ]
    )
    audit_log.record(
        actor,
        "webhook.secret_rotated",
        endpoint,
        changes={"overlap_hours": [None, overlap_hours]},
    )
    return endpoint


def expire_previous_secrets(now: dt.datetime | None = None) -> int:
    """Forget old secrets once their overlap is over (the sweep calls this)."""
    now = now or timezone.now()
    return WebhookEndpoint.objects.filter(previous_secret_expires_at__lte=now).update(
        previous_secret="", previous_secret_expires_at=None
    )


@transaction.atomic
def disable_endpoint(actor: Actor, endpoint: WebhookEndpoint, reason: str = "") -> int:
    """Stop sending to the endpoint; pending deliveries stop too. Returns how many."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if not endpoint.is_active:
        return 0
    who = actor.display
    return delivery.stop_endpoint(
        actor, endpoint, reason or f"disabled by {who}", automatically=False
    )


@transaction.atomic
def enable_endpoint(actor: Actor, endpoint: WebhookEndpoint, *, resend_stopped: bool = True) -> int:
    """Send to the endpoint again; with ``resend_stopped``, resume the deliveries the disable
    stopped (each gets an attempt now, then its normal schedule). Returns how many resumed."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.is_active:
        return 0
    disabled_at = endpoint.disabled_at
    endpoint.is_active = True
    endpoint.consecutive_failures, endpoint.failing_since = 0, None
    endpoint.disabled_at, endpoint.disabled_reason = None, ""
    endpoint.disabled_automatically = False
    endpoint.save()
    resumed = 0
    if resend_stopped and disabled_at is not None:
        stopped = WebhookDelivery.objects.select_for_update().filter(
            endpoint=endpoint, status=Status.CANCELLED, completed_at__gte=disabled_at
        )
        now = timezone.now()
        for item in stopped:
            item.status, item.completed_at, item.next_attempt_at = Status.PENDING, None, now
            item.last_error = ""
            item.save(
                update_fields=[
                    "status",
                    "completed_at",
                    "next_attempt_at",
                    "last_error",
                    "updated_at",
                ]
            )
            delivery.deliver_webhook.enqueue(str(item.pk), item.attempt_count)
            resumed += 1
    audit_log.record(
        actor,
        "webhook.enabled",
        endpoint,
        changes={"is_active": [False, True], "resumed_deliveries": [None, resumed]},
    )
    return resumed


@transaction.atomic
def replay_delivery(actor: Actor, item: WebhookDelivery) -> WebhookDelivery:
    """Send a past delivery again, as one new attempt (same body, fresh signature)."""
    item = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=item.pk)
    if item.status == Status.PENDING:
        raise ValidationError("This delivery is still being retried; wait for it to finish.")
    if not item.endpoint.is_active:
        raise ValidationError("The endpoint is disabled; enable it before replaying.")
    delivery.deliver_webhook.enqueue(str(item.pk), item.attempt_count, replay=True)
    audit_log.record(
        actor,
        "webhook.delivery_replayed",
        item,
        changes={"attempt": [None, item.attempt_count + 1]},
    )
    return item
