from django.http import Http404
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from throughline.core.access import public
from throughline.core.actor import Actor
from throughline.core.models import Channel
from throughline.messaging.models import OutboundMessage
from throughline.messaging.services import unsubscribe


@public
@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token):
    message = OutboundMessage.objects.filter(unsubscribe_token=token).first()
    if message is None:
        raise Http404("Unknown link")
    if request.method == "POST":
        unsubscribe(Actor.from_request(request, channel=Channel.PORTAL), token)
        return render(request, "messaging/unsubscribed.html", {"email": message.to_email})
    return render(request, "messaging/unsubscribe_confirm.html", {"email": message.to_email})
