"""The organization settings page and its logo."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_control

from throughline.core import services
from throughline.core.access import public, requires
from throughline.core.actor import Actor
from throughline.core.forms import OrganizationForm
from throughline.core.models import Organization
from throughline.core.views.common import add_service_errors, ensure_permission


@requires("settings.view")
def organization_settings(request):
    """Everyone with ``settings.view`` reads it; saving needs ``settings.manage``."""
    org = Organization.current()
    can_manage = request.user.can("settings.manage")
    if request.method == "POST":
        ensure_permission(request, "settings.manage")
        form = OrganizationForm(request.POST, request.FILES, instance=org)
        if form.is_valid():
            try:
                services.update_organization(Actor.from_request(request), **form.changes())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Settings saved.")
                return redirect("core:settings")
        status = 400
    else:
        form = OrganizationForm(instance=org)
        status = 200
    if not can_manage:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "core/settings.html",
        {"form": form, "org": org, "can_manage": can_manage, "settings_tab": "organization"},
        status=status,
    )


@public
@cache_control(max_age=300)
def organization_logo(request):
    """The logo, for the layout, documents and the client portal (branding is not secret)."""
    org = Organization.current()
    if not org.logo:
        raise Http404("No logo")
    try:
        return FileResponse(org.logo.open("rb"))
    except FileNotFoundError as exc:
        raise Http404("No logo") from exc
