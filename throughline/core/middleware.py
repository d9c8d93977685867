import uuid
from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse

from throughline.core.models import Organization


class RequestContextMiddleware:
    """Gives every request an id (echoed as X-Request-ID) for logs and audit entries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming[:64] if incoming.isalnum() else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


# Paths a signed-in user without a verified second factor may still reach (core/urls.py puts
# setup, verify and disable under /account/2fa/; they check the device state themselves).
_TWO_FACTOR_EXEMPT_PREFIXES = (
    "/account/2fa/",
    "/logout/",
    "/static/",
    "/settings/logo/",
    "/healthz",
    "/readyz",
)


class TwoFactorRequiredMiddleware:
    """When the owner requires two-factor, staff pages need a verified TOTP device.

    Users who have a device must verify it at login; users without one are sent to enrol.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(_TWO_FACTOR_EXEMPT_PREFIXES)
            and not request.path.startswith("/api/")
            and not getattr(settings, "TWO_FACTOR_DISABLED", False)
        ):
            from django_otp import user_has_device

            next_query = urlencode({"next": request.get_full_path()})
            if user_has_device(user):
                return redirect(f"{reverse('two_factor_verify')}?{next_query}")
            if Organization.current().require_two_factor:
                return redirect(f"{reverse('two_factor_setup')}?{next_query}")
        return self.get_response(request)
