"""Event handlers of this app (registered in ``IntegrationsConfig.ready``).

Each runs exactly once per event: ``core.events.handle_event`` commits the handler's effects
with its ``HandledEvent`` row, so the deliveries (and the jobs that send them) exist if and
only if the event was handled.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from throughline.core import events
from throughline.core.lookup_cache import cached_config
from throughline.core.models import DomainEvent, User
from throughline.core.roles import ROLE_PERMISSIONS
from throughline.integrations import delivery
from throughline.integrations.health import health_actor
from throughline.integrations.models import WebhookEndpoint


def _subscribed(event_names: set[str]) -> set[str]:
    """Which of these events an active endpoint subscribes to."""
    endpoints = cached_config(
        "integrations.active_endpoints",
        lambda: list(WebhookEndpoint.objects.filter(is_active=True).only("id", "event_types")),
    )
    return {name for name in event_names if any(e.subscribes_to(name) for e in endpoints)}


@events.on("*", wants=_subscribed)
def deliver_to_webhooks(event: DomainEvent) -> None:
    delivery.queue_event_deliveries(event)


def alert_recipients() -> list[str]:
    """Active users whose role may manage integrations (owners and admins)."""
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if "integrations.manage" in perms]
    return list(
        User.objects.filter(is_active=True, role__in=roles)
        .order_by("email")
        .values_list("email", flat=True)
    )


@events.on("integration.unhealthy")
def email_admins_about_unhealthy_integration(event: DomainEvent) -> None:
    from throughline.messaging.services import queue_email

    data = event.payload
    link = settings.BASE_URL + reverse("integrations:health")
    body = (
        f"{data.get('label')} is {data.get('state')} (was {data.get('previous_state')}).\n\n"
        f"{data.get('reason')}\n\n"
        f"Last 24 hours: {data.get('calls_24h')} calls, {data.get('failures_24h')} failed.\n"
        f"Integration health: {link}\n"
    )
    for address in alert_recipients():
        queue_email(
            health_actor(),
            to=address,
            subject=f"Integration {data.get('state')}: {data.get('label')}",
            body_text=body,
            source=f"integrations.integration:{event.subject_id}",
            idempotency_key=f"integration-unhealthy:{event.id}:{address}",
        )
