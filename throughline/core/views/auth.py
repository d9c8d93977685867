"""Signing in and out, password reset and change, and TOTP two-factor.

Django's auth views do the work; we give them our templates and forms. django-axes counts
failed logins (LoginView passes ``request`` to ``authenticate``, which axes needs), and
``TwoFactorRequiredMiddleware`` sends signed-in users here until their second factor is done.
"""

from __future__ import annotations

from base64 import b32encode
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from throughline.core import account_services
from throughline.core.access import login_only, public
from throughline.core.actor import Actor, client_ip
from throughline.core.forms import LoginForm, ResetPasswordForm, TokenCodeForm
from throughline.core.models import Channel, Organization
from throughline.core.views.common import safe_next


# --- password change and reset: Django's views with our templates, audited ------------------
class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            account_services.record_password_change(
                Actor.from_request(self.request), form.user, how="changed"
            )
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_set.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            actor = Actor(
                user=form.user,
                channel=Channel.UI,
                request_id=getattr(self.request, "request_id", ""),
                ip=client_ip(self.request),
            )
            account_services.record_password_change(actor, form.user, how="reset")
        return response


login_view = public(
    auth_views.LoginView.as_view(
        template_name="registration/login.html",
        authentication_form=LoginForm,
        redirect_authenticated_user=True,
    )
)
# POST only (Django 5): a link cannot sign anybody out.
logout_view = public(auth_views.LogoutView.as_view())
password_reset = public(
    auth_views.PasswordResetView.as_view(
        form_class=ResetPasswordForm,
        template_name="registration/password_reset.html",
        email_template_name="registration/password_reset_email.txt",
        subject_template_name="registration/password_reset_subject_line.txt",
        # Links are built from BASE_URL, never from the request's Host header.
        extra_email_context={"base_url": settings.BASE_URL},
    )
)
password_reset_done = public(
    auth_views.PasswordResetDoneView.as_view(template_name="registration/password_reset_sent.html")
)
password_reset_confirm = public(PasswordResetConfirmView.as_view())
password_reset_complete = public(
    auth_views.PasswordResetCompleteView.as_view(
        template_name="registration/password_reset_finished.html"
    )
)
password_change = login_only(PasswordChangeView.as_view())
password_change_done = login_only(
    auth_views.PasswordChangeDoneView.as_view(template_name="registration/password_changed.html")
)


# --- two-factor ------------------------------------------------------------------------------
def _qr_svg(data: str) -> str:
    return segno.make(data, error="m").svg_inline(scale=5, border=2, dark="#0f172a")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


@login_only
def two_factor_setup(request):
    """Enrol an authenticator app: scan the QR code (or type the secret), confirm a code."""
    user = request.user
    if account_services.confirmed_totp_device(user) is not None:
        if not user.is_verified():
            # A password alone must not be enough to enrol a second device.
            return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': request.path})}")
        return render(request, "registration/two_factor_enabled.html", {"form": TokenCodeForm()})
    device = account_services.pending_totp_device(user)
    form = TokenCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if account_services.confirm_totp_device(
            Actor.from_request(request), device, form.cleaned_data["code"]
        ):
            device.refresh_from_db()
            otp_login(request, device)
            messages.success(
                request, "Two-factor sign-in is on. You will enter a code at each sign-in."
            )
            return redirect(safe_next(request, reverse("core:account")))
        form.add_error(
            "code", "That code did not match. Check the time on your phone and try the newest code."
        )
    context = {
        "form": form,
        "qr_svg": _qr_svg(device.config_url),
        "secret": _grouped(b32encode(device.bin_key).decode()),
        "required": Organization.current().require_two_factor,
        "next": safe_next(request, ""),
    }
    return render(request, "registration/two_factor_setup.html", context)


@public
def two_factor_verify(request):
    """Second step of signing in: a current code from the user's authenticator app.

    Public in the permission sense: the signed-in-but-unverified user has no role yet.
    """
    user = request.user
    if not user.is_authenticated:
        return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
    target = safe_next(request, reverse("home"))
    if user.is_verified():
        return redirect(target)
    device = account_services.confirmed_totp_device(user)
    if device is None:
        return redirect("two_factor_setup")
    form = TokenCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            form.add_error("code", "Too many wrong codes. Wait a minute, then try again.")
        elif device.verify_token(form.cleaned_data["code"]):
            otp_login(request, device)
            return redirect(target)
        else:
            form.add_error("code", "That code did not match. Try the newest code from your app.")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": target})


@login_only
@require_POST
def two_factor_disable(request):
    user = request.user
    if not user.is_verified():
        return redirect(
            f"{reverse('two_factor_verify')}?{urlencode({'next': reverse('two_factor_setup')})}"
        )
    if Organization.current().require_two_factor:
        messages.error(
            request, "Your organization requires two-factor sign-in; it cannot be turned off."
        )
        return redirect("two_factor_setup")
    device = account_services.confirmed_totp_device(user)
    if device is None:
        return redirect("two_factor_setup")
    # A current code, not just the session: a borrowed session cannot switch 2FA off.
    form = TokenCodeForm(request.POST)
    if form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            account_services.disable_two_factor(Actor.from_request(request), user)
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("core:account")
        form.add_error("code", "That code did not match.")
    return render(request, "registration/two_factor_enabled.html", {"form": form}, status=400)
