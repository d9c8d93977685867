"""Serializer fields the apps' API serializers share."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from throughline.core.models import User


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset in, UTC (``…Z``) out. A time without offset is refused, not guessed."""

    default_error_messages = {
        "naive": "Give the time with its offset, e.g. 2025-03-31T09:00:00Z.",
    }

    def __init__(self, **kwargs):
        super().__init__(default_timezone=dt.UTC, **kwargs)

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None  # out-of-range parts: the parent field words the error
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)


class UserEmailField(serializers.CharField):
    """A staff user, named by e-mail address (users have no public id of their own)."""

    default_error_messages = {"unknown": "No active user has this e-mail address."}

    def to_internal_value(self, data):
        # No max_length: CharField would check it on the User this returns.
        email = super().to_internal_value(data).strip()
        user = User.objects.filter(email__iexact=email[:254], is_active=True).first()
        if user is None:
            self.fail("unknown")
        return user

    def to_representation(self, value):
        return value.email if value is not None else None


class VisibleRecordField(serializers.UUIDField):
    """The id of a record the requesting user may see, resolved with an ``access_*`` helper.

    ``company_id`` → ``VisibleRecordField(access=access_company)``: the validated value is the
    Company; an id that is absent or not visible to the user gets the same "unknown" answer.
    """

    default_error_messages = {"unknown": "No {label} with this id."}

    def __init__(self, *, access: Callable, label: str, **kwargs):
        self.access = access
        self.label = label
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        pk = super().to_internal_value(data)
        try:
            return self.access(self.context["request"].user, pk)
        except (Http404, DjangoValidationError):
            self.fail("unknown", label=self.label)
