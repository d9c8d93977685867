"""API representations of leads (DESIGN §6: ``POST /leads`` and its 201 answer).

As in the CRM, serializers check shapes and lengths; what a value means (a valid e-mail, a
phone number for the organization's region, a known custom field) is ``capture_lead``'s to
say, so every channel gives the same answers.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from throughline.api.fields import UserEmailField, UtcDateTimeField
from throughline.api.serializers import ServiceSerializer
from throughline.intake.capture import ConsentInput
from throughline.intake.models import Lead

CONSENT_SCHEMA = {
    "oneOf": [
        {
            "type": "boolean",
            "description": "Marketing e-mail consent given (true) or refused (false).",
        },
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "purpose": {"type": "string", "example": "marketing"},
                    "granted": {"type": "boolean", "default": True},
                    "wording_version": {
                        "type": "string",
                        "description": "Version of the text the person agreed to.",
                    },
                    "wording": {"type": "string", "description": "The text itself."},
                },
                "required": ["purpose"],
            },
        },
    ]
}


@extend_schema_field(CONSENT_SCHEMA)
class ConsentField(serializers.Field):
    """``true`` (marketing consent) or a list of ``{purpose, granted, wording_version, wording}``."""

    default_error_messages = {
        "invalid": "Give true/false, or a list of {{purpose, granted, wording_version, wording}}.",
        "too_many": "At most 10 consent records.",
    }

    def to_internal_value(self, data) -> list[ConsentInput]:
        if isinstance(data, bool):
            return [ConsentInput("marketing", data, "", "")]
        if not isinstance(data, list):
            self.fail("invalid")
        if len(data) > 10:
            self.fail("too_many")
        consents = []
        for item in data:
            if not isinstance(item, dict) or not isinstance(item.get("purpose"), str):
                self.fail("invalid")
            granted = item.get("granted", True)
            version, wording = item.get("wording_version", ""), item.get("wording", "")
            if not isinstance(granted, bool) or not all(
                isinstance(v, str) for v in (version, wording)
            ):
                self.fail("invalid")
            consents.append(ConsentInput(item["purpose"], granted, version, wording))
        return consents

    def to_representation(self, value):  # pragma: no cover - write-only
        return value


def _text(max_length: int, **kwargs) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class LeadCreateSerializer(ServiceSerializer):
    """An inquiry. Give at least an e-mail address or a phone number."""

    first_name = _text(100)
    last_name = _text(100)
    email = _text(254)
    phone = _text(64, help_text="Any format; stored as E.164 (the organization's region).")
    company = _text(200, help_text="Company name; legal forms are ignored when matching.")
    website = _text(200)
    title = _text(100, help_text="Job title.")
    message = _text(20_000, trim_whitespace=False)
    source = _text(
        50, help_text="Lead source slug (e.g. `google-ads`); created if new. Default `api`."
    )
    utm = serializers.DictField(
        child=serializers.CharField(max_length=300, allow_blank=True),
        required=False,
        help_text="`utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`, "
        "click ids (`gclid` …).",
    )
    referrer = _text(1000, help_text="The page the person came from.")
    consent = ConsentField(required=False)
    custom = serializers.DictField(
        required=False, help_text="The organization's custom lead fields, by key."
    )


class LeadSerializer(serializers.Serializer):
    """A lead. ``contact_id`` is the person's one record; a known person keeps theirs."""

    id = serializers.UUIDField(read_only=True)
    contact_id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=Lead.Status.choices, read_only=True)
    duplicate_of = serializers.UUIDField(
        source="duplicate_of_id",
        read_only=True,
        allow_null=True,
        help_text="An existing contact this person probably is (flagged for review), or null.",
    )
    duplicate_confidence = serializers.FloatField(read_only=True, allow_null=True)
    score = serializers.IntegerField(read_only=True)
    tier = serializers.CharField(read_only=True, help_text="hot / warm / cold (empty: not scored)")
    conversion_probability = serializers.FloatField(
        read_only=True,
        allow_null=True,
        help_text="The learned model's chance of winning (null without a promoted model).",
    )
    owner = UserEmailField(read_only=True, allow_null=True, help_text="The owner's e-mail.")
    sla_due_at = UtcDateTimeField(
        read_only=True, allow_null=True, help_text="First response due (working time)."
    )
    first_response_at = UtcDateTimeField(read_only=True, allow_null=True)
    source = serializers.CharField(source="source.slug", read_only=True, help_text="Source slug.")
    channel = serializers.ChoiceField(choices=Lead.Channel.choices, read_only=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    company = serializers.CharField(source="company_name", read_only=True)
    company_id = serializers.UUIDField(read_only=True, allow_null=True)
    website = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    message = serializers.CharField(read_only=True)
    utm = serializers.DictField(read_only=True)
    referrer = serializers.CharField(read_only=True)
    custom = serializers.DictField(read_only=True)
    received_at = UtcDateTimeField(read_only=True)
    created_at = UtcDateTimeField(read_only=True)
