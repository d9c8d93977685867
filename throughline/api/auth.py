"""Bearer tokens: ``Authorization: Bearer tl_…``; only the SHA-256 is stored."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from rest_framework import authentication, exceptions

from throughline.core.models import ApiToken
from throughline.core.services import hash_token

_LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if len(parts) != 2 or parts[0] != self.keyword:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <token>'.")
        token = (
            ApiToken.objects.select_related("user")
            .filter(token_hash=hash_token(parts[1]), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            # Throttled write: at most once a minute per token.
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
