"""Write paths of the core app: organization settings, users, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from throughline.core import audit_log
from throughline.core.actor import Actor
from throughline.core.models import ApiToken, Organization, User
from throughline.core.roles import Role

TOKEN_PREFIX = "tl_"  # noqa: S105 - a public prefix, not a secret


@transaction.atomic
def update_organization(actor: Actor, **data: Any) -> Organization:
    org = Organization.objects.select_for_update().get(pk=Organization.current().pk)
    before = audit_log.snapshot(org)
    for key, value in data.items():
        if not hasattr(org, key) or key in {"id", "updated_at"}:
            raise ValidationError({key: "Unknown setting."})
        setattr(org, key, value)
    org.full_clean()
    org.save()
    changes = audit_log.diff(before, audit_log.snapshot(org))
    if changes:
        audit_log.record(actor, "organization.updated", org, changes=changes)
    return org


def generate_password() -> str:
    return secrets.token_urlsafe(12)


@transaction.atomic
def create_user(
    actor: Actor, *, email: str, role: str, full_name: str = "", password: str | None = None
) -> User:
    errors = {}
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        errors["email"] = "Enter a valid e-mail address."
    elif User.objects.filter(email__iexact=email).exists():
        errors["email"] = "A user with this e-mail address exists."
    if role not in Role.values:
        errors["role"] = f"Choose one of: {', '.join(Role.values)}."
    if password:
        try:
            validate_password(password, User(email=email, full_name=full_name))
        except ValidationError as exc:
            errors["password"] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    user = User.objects.create_user(
        email,
        password,
        role=role,
        full_name=full_name.strip(),
        is_staff=role == Role.OWNER,
        is_superuser=role == Role.OWNER,
    )
    audit_log.record(
        actor, "user.created", user, changes={"email": [None, email], "role": [None, role]}
    )
    return user


@transaction.atomic
def update_user(actor: Actor, user: User, **data: Any) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    before = audit_log.snapshot(user)
    if "role" in data:
        if data["role"] not in Role.values:
            raise ValidationError({"role": "Unknown role."})
        if user.role == Role.OWNER and data["role"] != Role.OWNER:
            if (
                not User.objects.filter(role=Role.OWNER, is_active=True)
                .exclude(pk=user.pk)
                .exists()
            ):
                raise ValidationError({"role": "The last owner cannot lose the owner role."})
    if data.get("is_active") is False and user.role == Role.OWNER:
        if not User.objects.filter(role=Role.OWNER, is_active=True).exclude(pk=user.pk).exists():
            raise ValidationError({"is_active": "The last owner cannot be deactivated."})
    for key in ("full_name", "role", "is_active", "out_of_office"):
        if key in data:
            setattr(user, key, data[key])
    user.is_staff = user.is_superuser = user.role == Role.OWNER
    user.save()
    changes = audit_log.diff(before, audit_log.snapshot(user))
    if changes:
        audit_log.record(actor, "user.updated", user, changes=changes)
    return user


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def create_api_token(actor: Actor, user: User, name: str = "API token") -> tuple[ApiToken, str]:
    """Returns the token row and the raw value (shown once, never stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=(name or "API token")[:100], prefix=raw[:10], token_hash=hash_token(raw)
    )
    audit_log.record(actor, "api_token.created", token, changes={"name": [None, token.name]})
    return token, raw


@transaction.atomic
def revoke_api_token(actor: Actor, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log.record(
            actor, "api_token.revoked", token, changes={"revoked_at": [None, token.revoked_at]}
        )
    return token
