"""The signed-in user's notifications."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.automation import notifications
from throughline.automation.models import Notification
from throughline.core.access import requires
from throughline.crm.views.listing import paginate


@requires("automation.view")
def notification_list(request: HttpRequest) -> HttpResponse:
    mine = Notification.objects.filter(user=request.user).order_by("-created_at", "-id")
    context = {
        "page": paginate(request, mine, 50),
        "unread": notifications.unread_count(request.user),
    }
    return render(request, "automation/notification_list.html", context)


@requires("automation.view")
@require_POST
def notification_read(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()]
    notifications.mark_read(request.user, ids or None)
    return redirect("automation:notification_list")
