"""``POST /hooks/payments/<gateway>``: the gateway's webhooks (billing/services/online.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from throughline.billing.services import online
from throughline.core.access import public
from throughline.core.actor import client_ip

MAX_BODY = 256 * 1024


@public
@csrf_exempt
@require_POST
def gateway_webhook(request: HttpRequest, gateway: str) -> HttpResponse:
    """Verified by the gateway's signature, not a session: 400 and a security log entry when
    the signature is wrong, missing or stale; 200 once processed (or already processed)."""
    if len(request.body) > MAX_BODY:
        online.reject_webhook(gateway, "body too large", ip=client_ip(request), status=413)
        return HttpResponse("too large", status=413, content_type="text/plain")
    status, text = online.handle_webhook(
        gateway, request.body, dict(request.headers), ip=client_ip(request)
    )
    return HttpResponse(text, status=status, content_type="text/plain")
