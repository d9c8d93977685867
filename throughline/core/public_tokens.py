"""Magic links for clients: unguessable, expiring, scoped to one record. Only hashes are stored.

``issue_token("proposal", proposal, expires_in=timedelta(days=30))`` returns the raw token
(43 URL-safe characters, 256 random bits) once — it goes into an e-mail and nowhere else;
the database keeps its SHA-256. ``resolve_token(raw, "proposal")`` gives the record back, or
raises ``TokenInvalid`` / ``TokenExpired``. A token of another scope is invalid: the invoice
link cannot open a proposal even when the ids happen to match.

A plain (unkeyed) SHA-256 is enough: the input is 256 random bits, so the hash cannot be
reversed by guessing, and keeping the secret key out of it means rotating ``SECRET_KEY`` does
not break links already sent. Used by sales now; signing, the portal and billing later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from throughline.core.models import PublicToken

TOKEN_BYTES = 32
MAX_LIFETIME = dt.timedelta(days=400)
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
_SCOPE_SHAPE = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")


class TokenError(Exception):
    """The link cannot be used."""


class TokenInvalid(TokenError):
    """Unknown, malformed, revoked, of another scope, or its record is gone."""


class TokenExpired(TokenError):
    """A real link whose time is up (the page can offer to ask for a fresh one)."""


@dataclass(frozen=True)
class Resolved:
    token: PublicToken
    obj: models.Model


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _type_of(obj: models.Model) -> str:
    return obj._meta.label_lower


def issue_token(
    scope: str, obj: models.Model, expires_in: dt.timedelta | None = None, *, expires_at=None
) -> str:
    """Create a link secret for ``obj`` in ``scope``; returns the raw token (shown once)."""
    if not _SCOPE_SHAPE.match(scope):
        raise ValueError(f"Bad token scope {scope!r}")
    if obj.pk is None or obj._state.adding:  # UUID keys exist before the row does
        raise ValueError("Save the record before issuing a link to it.")
    now = timezone.now()
    if expires_at is None:
        if expires_in is None:
            raise ValueError("Give expires_in or expires_at.")
        expires_at = now + expires_in
    if expires_at <= now:
        raise ValueError("A link must expire in the future.")
    expires_at = min(expires_at, now + MAX_LIFETIME)
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    PublicToken.objects.create(
        token_hash=hash_token(raw),
        scope=scope,
        object_type=_type_of(obj),
        object_id=str(obj.pk),
        expires_at=expires_at,
    )
    return raw


def resolve(raw: str, scope: str, *, touch: bool = True) -> Resolved:
    """The token row and its record; ``touch`` counts the use."""
    if not isinstance(raw, str) or not _TOKEN_SHAPE.match(raw):
        raise TokenInvalid("Malformed link.")
    token = PublicToken.objects.filter(token_hash=hash_token(raw)).first()
    if token is None or token.scope != scope or token.revoked_at is not None:
        raise TokenInvalid("Unknown link.")
    if token.expires_at <= timezone.now():
        raise TokenExpired("This link has expired.")
    try:
        model = apps.get_model(token.object_type)
        obj = model._default_manager.get(pk=token.object_id)
    except (LookupError, ValueError, models.ObjectDoesNotExist) as exc:
        raise TokenInvalid("The record behind this link no longer exists.") from exc
    if touch:
        PublicToken.objects.filter(pk=token.pk).update(
            use_count=F("use_count") + 1, last_used_at=timezone.now()
        )
    return Resolved(token=token, obj=obj)


def resolve_token(raw: str, scope: str) -> models.Model:
    """The record a link opens, or ``TokenInvalid`` / ``TokenExpired``."""
    return resolve(raw, scope).obj


def tokens_for(scope: str, obj: models.Model):
    return PublicToken.objects.filter(scope=scope, object_type=_type_of(obj), object_id=str(obj.pk))


@transaction.atomic
def revoke_tokens(scope: str, obj: models.Model) -> int:
    """Invalidate every live link of ``obj`` in ``scope``; returns how many."""
    return tokens_for(scope, obj).filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def purge_expired(older_than: dt.timedelta = dt.timedelta(days=90)) -> int:
    """Delete rows of links that expired long ago (they only answer "expired" meanwhile)."""
    deleted, _ = PublicToken.objects.filter(expires_at__lt=timezone.now() - older_than).delete()
    return deleted
