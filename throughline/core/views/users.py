"""Staff users: list, create, change role or deactivate, and the organization's 2FA rule."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from throughline.core import account_services, services
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.forms import UserCreateForm, UserUpdateForm, send_invitation
from throughline.core.models import Organization, User
from throughline.core.views.common import add_service_errors


def _with_two_factor(queryset):
    return queryset.annotate(
        two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )


@requires("users.manage")
def user_list(request):
    users = _with_two_factor(User.objects.all()).order_by("-is_active", "full_name", "email")
    return render(
        request,
        "core/user_list.html",
        {"users": users, "organization_settings": Organization.current()},
    )


@requires("users.manage")
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        generate = data["sign_in"] == UserCreateForm.GENERATE
        password = services.generate_password() if generate else None
        try:
            user = services.create_user(
                Actor.from_request(request),
                email=data["email"],
                role=data["role"],
                full_name=data["full_name"],
                password=password,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if generate:
                # Shown in this response only; never stored in clear or put in a message.
                response = render(
                    request, "core/user_created.html", {"new_user": user, "password": password}
                )
                response["Cache-Control"] = "no-store"
                return response
            send_invitation(request, user)
            messages.success(
                request, f"{user.email} is invited: we e-mailed a link to choose a password."
            )
            return redirect("core:user_list")
    return render(
        request, "core/user_form.html", {"form": form}, status=400 if form.errors else 200
    )


@requires("users.manage")
def user_edit(request, pk: int):
    target = get_object_or_404(_with_two_factor(User.objects.all()), pk=pk)
    form = UserUpdateForm(request.POST or None, user=target, editor=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_user(Actor.from_request(request), target, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{target.email} is saved.")
            return redirect("core:user_list")
    return render(
        request,
        "core/user_edit.html",
        {"form": form, "target": target},
        status=400 if form.errors else 200,
    )


@requires("users.manage")
@require_POST
def user_invite(request, pk: int):
    """Send (again) the e-mail with a link to choose a password."""
    target = get_object_or_404(User, pk=pk, is_active=True)
    send_invitation(request, target)
    messages.success(request, f"We e-mailed {target.email} a link to choose a password.")
    return redirect("core:user_edit", pk=target.pk)


@requires("users.manage")
@require_POST
def user_reset_two_factor(request, pk: int):
    """For a lost phone: remove the person's authenticator; they enrol again at next sign-in."""
    target = get_object_or_404(User, pk=pk)
    if account_services.disable_two_factor(Actor.from_request(request), target):
        messages.success(request, f"Two-factor for {target.email} is reset.")
    else:
        messages.info(request, f"{target.email} had no two-factor device.")
    return redirect("core:user_edit", pk=target.pk)


@requires("users.manage")
@require_POST
def require_two_factor(request):
    required = request.POST.get("require_two_factor") == "on"
    services.update_organization(Actor.from_request(request), require_two_factor=required)
    if required:
        messages.success(
            request,
            "Two-factor sign-in is now required. Everyone without it is asked to set it up.",
        )
    else:
        messages.success(request, "Two-factor sign-in is now optional.")
    return redirect("core:user_list")
