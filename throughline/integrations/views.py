"""Staff pages: integration health, webhook endpoints, their delivery log and replay."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.integrations import health, services, signing, ssrf
from throughline.integrations.forms import DeliveryFilterForm, EnableForm, EndpointForm
from throughline.integrations.models import (
    Integration,
    WebhookDelivery,
    WebhookEndpoint,
)

PAGE_SIZE = 50


def _common(request: HttpRequest) -> dict:
    """What every page of the area shows: the unhealthy notice and whether the user may manage."""
    return {
        "unhealthy": list(health.unhealthy()),
        "can_manage": request.user.can("integrations.manage"),
    }


def _secret_page(request: HttpRequest, endpoint: WebhookEndpoint, created: bool) -> HttpResponse:
    # The secret is shown in this response only: never put in a message, cookie or log.
    response = render(
        request,
        "integrations/secret.html",
        {**_common(request), "endpoint": endpoint, "secret": endpoint.secret, "created": created},
    )
    response["Cache-Control"] = "no-store"
    return response


@requires("integrations.view")
def health_page(request: HttpRequest) -> HttpResponse:
    integrations = list(Integration.objects.all())
    endpoints = {
        str(e.pk): e
        for e in WebhookEndpoint.objects.filter(
            pk__in=[i.key for i in integrations if i.kind == Integration.Kind.WEBHOOK]
        )
    }
    rows = [
        {"integration": i, "endpoint": endpoints.get(i.key) if i.kind == "webhook" else None}
        for i in integrations
    ]
    return render(request, "integrations/health.html", {**_common(request), "rows": rows})


@requires("integrations.manage")
@require_POST
def health_refresh(request: HttpRequest) -> HttpResponse:
    health.sweep()
    messages.success(request, "Every integration was checked just now.")
    return redirect("integrations:health")


@requires("integrations.view")
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = WebhookEndpoint.objects.annotate(
        pending=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
    )
    return render(
        request, "integrations/endpoint_list.html", {**_common(request), "endpoints": endpoints}
    )


@requires("integrations.manage")
def endpoint_create(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None, initial={"owner": request.user})
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.create_endpoint(Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _secret_page(request, endpoint, created=True)
    return render(request, "integrations/endpoint_form.html", {**_common(request), "form": form})


@requires("integrations.view")
def endpoint_detail(request: HttpRequest, pk) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    filters = DeliveryFilterForm(request.GET or None)
    deliveries = endpoint.deliveries.order_by("-created_at")
    if filters.is_valid() and filters.cleaned_data["status"]:
        deliveries = deliveries.filter(status=filters.cleaned_data["status"])
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    integration = Integration.objects.filter(
        kind=Integration.Kind.WEBHOOK, key=str(endpoint.pk)
    ).first()
    context = {
        **_common(request),
        "endpoint": endpoint,
        "safe_url": ssrf.sanitize_url(endpoint.url),
        "masked_secret": signing.mask_secret(endpoint.secret),
        "masked_previous": signing.mask_secret(endpoint.previous_secret),
        "integration": integration,
        "page_obj": page,
        "filters": filters,
        "enable_form": EnableForm(),
    }
    return render(request, "integrations/endpoint_detail.html", context)


@requires("integrations.manage")
def endpoint_edit(request: HttpRequest, pk) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    initial = {
        "name": endpoint.name,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "description": endpoint.description,
        "owner": endpoint.owner,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        try:
            services.update_endpoint(Actor.from_request(request), endpoint, **changed)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect("integrations:endpoint_detail", pk=endpoint.pk)
    return render(
        request,
        "integrations/endpoint_form.html",
        {**_common(request), "form": form, "endpoint": endpoint},
    )


@requires("integrations.manage")
def endpoint_delete(request: HttpRequest, pk) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST":
        services.delete_endpoint(Actor.from_request(request), endpoint)
        messages.success(request, f"Endpoint “{endpoint.name}” deleted.")
        return redirect("integrations:endpoint_list")
    return render(
        request,
        "integrations/endpoint_delete.html",
        {**_common(request), "endpoint": endpoint, "deliveries": endpoint.deliveries.count()},
    )


@requires("integrations.manage")
@require_POST
def endpoint_rotate(request: HttpRequest, pk) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    overlap = 0.0 if request.POST.get("immediately") else None
    endpoint = services.rotate_secret(Actor.from_request(request), endpoint, overlap_hours=overlap)
    return _secret_page(request, endpoint, created=False)


@requires("integrations.manage")
@require_POST
def endpoint_disable(request: HttpRequest, pk) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    stopped = services.disable_endpoint(Actor.from_request(request), endpoint)
    messages.success(
        request,
        f"Endpoint disabled; {stopped} pending deliver{'y' if stopped == 1 else 'ies'} stopped.",
    )
    return redirect("integrations:endpoint_detail", pk=endpoint.pk)


@requires("integrations.manage")
@require_POST
def endpoint_enable(request: HttpRequest, pk) -> HttpResponse:
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = EnableForm(request.POST)
    resend = form.is_valid() and form.cleaned_data["resend_stopped"]
    resumed = services.enable_endpoint(Actor.from_request(request), endpoint, resend_stopped=resend)
    messages.success(
        request, f"Endpoint enabled; {resumed} deliver{'y' if resumed == 1 else 'ies'} resumed."
    )
    return redirect("integrations:endpoint_detail", pk=endpoint.pk)


@requires("integrations.view")
def delivery_detail(request: HttpRequest, pk) -> HttpResponse:
    item = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=pk)
    context = {
        **_common(request),
        "delivery": item,
        "attempts": item.attempts.order_by("-number"),
        "can_replay": item.status != WebhookDelivery.Status.PENDING and item.endpoint.is_active,
    }
    return render(request, "integrations/delivery_detail.html", context)


@requires("integrations.manage")
@require_POST
def delivery_replay(request: HttpRequest, pk) -> HttpResponse:
    item = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        services.replay_delivery(Actor.from_request(request), item)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Replay queued: it is sent as a new attempt in a moment.")
    return redirect("integrations:delivery_detail", pk=item.pk)
