"""The workflow action "webhook.call", registered with the automation engine's action registry
(``throughline.automation.registry.register_action``); the engine never imports this app.

The action posts to a configured endpoint through the same ledger as event subscriptions —
signed, retried, logged, replayable. It runs inside the workflow step's transaction and only
*enqueues* the delivery (the registry's rule for external work); the step's idempotency key
makes a retried step deliver once.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from throughline.integrations import delivery
from throughline.integrations.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)
ACTION_NAME = "webhook.call"
DEFAULT_NAME = "workflow.webhook"


def find_endpoint(reference: str) -> WebhookEndpoint | None:
    """An endpoint by id, or by its name (case-insensitive)."""
    reference = (reference or "").strip()
    try:
        return WebhookEndpoint.objects.filter(pk=uuid.UUID(reference)).first()
    except ValueError:
        return WebhookEndpoint.objects.filter(name__iexact=reference).order_by("created_at").first()


def call_webhook(
    endpoint: WebhookEndpoint,
    *,
    idempotency_key: str,
    name: str = DEFAULT_NAME,
    payload: dict[str, Any] | None = None,
    subject_type: str = "",
    subject_id: str = "",
) -> WebhookDelivery:
    """Queue a signed POST to ``endpoint``, once per ``idempotency_key``.

    The body has the shape of an event delivery (``id``, ``name``, ``occurred_at``,
    ``subject``, ``payload``); ``id`` is the idempotency key, for the receiver to de-duplicate.
    """
    if not endpoint.is_active:
        raise ValidationError(f"The webhook endpoint “{endpoint.name}” is disabled.")
    body = json.dumps(
        {
            "id": idempotency_key,
            "name": name,
            "occurred_at": delivery.utc_iso(timezone.now()),
            "subject": {"type": subject_type, "id": subject_id},
            "payload": payload or {},
        },
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        sort_keys=True,
    )
    return delivery.enqueue_delivery(
        endpoint, event_name=name[:64], body=body, idempotency_key=f"action:{idempotency_key}"
    )


def run_action(ctx, params: dict) -> dict:
    """``fn(ctx, params)`` of the registry: ``ctx`` is an automation ``ActionContext``."""
    endpoint = find_endpoint(params.get("endpoint", ""))
    if endpoint is None:
        raise ValidationError(f"No webhook endpoint {params.get('endpoint')!r}.")
    subject = ctx.subject
    payload = {
        "workflow_run_id": str(ctx.run.pk) if ctx.run is not None else None,
        "step": ctx.step_id,
        "event": {"id": str(ctx.event.id), "name": ctx.event.name} if ctx.event else None,
    }
    item = call_webhook(
        endpoint,
        idempotency_key=ctx.idempotency_key,
        name=(params.get("name") or DEFAULT_NAME).strip(),
        payload=payload,
        subject_type=ctx.subject_type or "",
        subject_id=str(subject.pk) if subject is not None else "",
    )
    return {"delivery_id": str(item.pk), "endpoint": endpoint.name, "status": item.status}


def check_params(params: dict, subject_type: str) -> list[str]:
    reference = params.get("endpoint", "")
    if "{{" in str(reference):
        return []  # filled in at run time
    endpoint = find_endpoint(reference)
    if endpoint is None:
        return [f"endpoint: no webhook endpoint {reference!r}"]
    return []


def register() -> bool:
    """Register "webhook.call" when the automation registry is installed; True if it was."""
    try:
        from throughline.automation.registry import Param, register_action
    except ImportError:
        return False
    register_action(
        ACTION_NAME,
        (
            Param(
                "endpoint",
                "text",
                "Webhook endpoint",
                required=True,
                help="The endpoint's name or id (Integrations → Webhooks)",
            ),
            Param(
                "name",
                "text",
                "Name sent as Throughline-Event",
                default=DEFAULT_NAME,
                help="Lets the receiver tell this call from others",
            ),
        ),
        run_action,
        label="Call an outbound webhook",
        check=check_params,
        describe=lambda p: (
            f"POST a signed “{p.get('name') or DEFAULT_NAME}” to {p.get('endpoint')}"
        ),
    )
    return True
