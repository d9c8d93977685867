"""API representations of webhook subscriptions and their deliveries (DESIGN §6)."""

from __future__ import annotations

from rest_framework import serializers

from throughline.api.fields import UserEmailField, UtcDateTimeField
from throughline.api.serializers import ServiceSerializer


class WebhookSerializer(ServiceSerializer):
    """A subscription: events (or `*`) POSTed, signed, to a URL. The secret is never listed."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=120)
    url = serializers.CharField(
        max_length=2000,
        help_text="http(s) URL. Private, loopback and link-local addresses are refused; "
        "redirects are never followed.",
    )
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=64),
        help_text='Event names (DESIGN §4), or `["*"]` for every event.',
    )
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    owner = UserEmailField(
        required=False,
        allow_null=True,
        help_text="E-mail address of the user told when the endpoint is disabled; the creator "
        "when left out.",
    )
    is_active = serializers.BooleanField(
        required=False,
        help_text="`false` disables (pending deliveries stop); `true` enables and resumes them.",
    )
    disabled_at = UtcDateTimeField(read_only=True, allow_null=True)
    disabled_reason = serializers.CharField(read_only=True)
    secret_rotated_at = UtcDateTimeField(read_only=True, allow_null=True)
    previous_secret_expires_at = UtcDateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Until then requests carry a second `v1` signature made with the old secret.",
    )
    consecutive_failures = serializers.IntegerField(read_only=True)
    last_success_at = UtcDateTimeField(read_only=True, allow_null=True)
    last_failure_at = UtcDateTimeField(read_only=True, allow_null=True)
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)


class WebhookWithSecretSerializer(WebhookSerializer):
    """Answer of create and rotate-secret: the only times the signing secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="Keep it: it is not shown again.")


class RotateSecretSerializer(serializers.Serializer):
    overlap_hours = serializers.FloatField(
        required=False,
        min_value=0,
        max_value=720,
        help_text="How long the old secret keeps signing too (default 24; 0 stops it at once).",
    )


class DeliveryAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    is_replay = serializers.BooleanField()
    started_at = UtcDateTimeField()
    finished_at = UtcDateTimeField(allow_null=True)
    request_url = serializers.CharField(help_text="Without credentials or query.")
    request_headers = serializers.DictField(child=serializers.CharField())
    response_status = serializers.IntegerField(allow_null=True)
    response_headers = serializers.DictField(child=serializers.CharField())
    response_excerpt = serializers.CharField(help_text="The first 2000 characters.")
    latency_ms = serializers.IntegerField(allow_null=True)
    outcome = serializers.CharField(help_text="`in_flight`, `success`, `retry` or `failed`.")
    error = serializers.CharField()


class DeliverySerializer(serializers.Serializer):
    """One event (or workflow call) for one endpoint, and how sending it went."""

    id = serializers.UUIDField(read_only=True)
    webhook_id = serializers.UUIDField(source="endpoint_id", read_only=True)
    event_id = serializers.CharField(read_only=True, allow_null=True)
    event_name = serializers.CharField(read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="`pending`, `succeeded`, `failed` or `cancelled`."
    )
    attempt_count = serializers.IntegerField(read_only=True)
    next_attempt_at = UtcDateTimeField(read_only=True, allow_null=True)
    last_status_code = serializers.IntegerField(read_only=True, allow_null=True)
    last_error = serializers.CharField(read_only=True)
    created_at = UtcDateTimeField(read_only=True)
    completed_at = UtcDateTimeField(read_only=True, allow_null=True)


class DeliveryDetailSerializer(DeliverySerializer):
    body = serializers.CharField(read_only=True, help_text="The exact JSON text that is signed.")
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)
