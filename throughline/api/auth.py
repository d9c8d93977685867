"""Bearer tokens: ``Authorization: Bearer tl_…``; only the SHA-256 is stored.

No header → the request is anonymous (and every non-public route answers 401); a header that
is malformed, unknown, revoked or belongs to a deactivated user → 401 as well. Both 401s
carry ``WWW-Authenticate: Bearer realm="api"`` (RFC 6750).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from throughline.core.models import ApiToken
from throughline.core.services import hash_token

# last_used_at is informational; writing it on every request would make every read a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        # The scheme name is case-insensitive (RFC 9110 §11.1).
        if len(parts) != 2 or parts[0].lower() != self.keyword.lower():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=hash_token(parts[1]), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Tells drf-spectacular (and so the docs' "Authorize" button) how tokens are sent."""

    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`throughline token create --user EMAIL`).",
        }
