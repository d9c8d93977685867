"""The signed-in user's own page: name, password, two-factor and API tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.core import account_services, services
from throughline.core.access import login_only, requires
from throughline.core.actor import Actor
from throughline.core.forms import ApiTokenForm
from throughline.core.models import ApiToken
from throughline.core.views.common import add_service_errors


class ProfileForm(forms.Form):
    full_name = forms.CharField(label="Name", max_length=150, required=False)


def _render(request, *, profile_form=None, token_form=None, new_token=None, status=200):
    user = request.user
    context = {
        "profile_form": profile_form or ProfileForm(initial={"full_name": user.full_name}),
        "token_form": token_form or ApiTokenForm(),
        "tokens": ApiToken.objects.filter(user=user) if user.can("api.tokens") else [],
        "new_token": new_token,
        "two_factor_on": account_services.confirmed_totp_device(user) is not None,
    }
    return render(request, "core/account.html", context, status=status)


@login_only
def account(request):
    if request.method != "POST":
        return _render(request)
    form = ProfileForm(request.POST)
    if form.is_valid():
        try:
            services.update_user(
                Actor.from_request(request),
                request.user,
                full_name=form.cleaned_data["full_name"].strip(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("core:account")
    return _render(request, profile_form=form, status=400)


@requires("api.tokens")
@require_POST
def token_create(request):
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _render(request, token_form=form, status=400)
    token, raw = services.create_api_token(
        Actor.from_request(request), request.user, form.cleaned_data["name"]
    )
    # The value is rendered once, in this response only; it is never stored or put in a message.
    response = _render(request, new_token={"token": token, "value": raw})
    response["Cache-Control"] = "no-store"
    return response


@requires("api.tokens")
@require_POST
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.revoke_api_token(Actor.from_request(request), token)
    messages.success(request, f"Token “{token.name}” is revoked; requests with it now fail.")
    return redirect("core:account")
