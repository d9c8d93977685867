"""API representations of contacts, companies and tasks (DESIGN §6).

Serializers check types and lengths only; what a value means (a valid e-mail address, a phone
number for the organization's region, a known custom field, a duplicate) is the service's to
say, so the UI, imports and the API give the same answers.
"""

from __future__ import annotations

from rest_framework import serializers

from throughline.api.fields import UserEmailField, UtcDateTimeField, VisibleRecordField
from throughline.api.serializers import ServiceSerializer
from throughline.crm.access import access_company, access_contact


class TagNamesField(serializers.ListField):
    """A record's tags by name, read-only (prefetch ``tags`` for lists)."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(), read_only=True, **kwargs)

    def to_representation(self, data):
        return [tag.name for tag in data.all()]


CUSTOM_HELP = "The organization's custom fields, by key (unknown keys are refused)."


class ContactSerializer(ServiceSerializer):
    """A person. ``company_id`` links the company; ``owner`` is whoever created it."""

    service_names = {"company_id": "company"}

    id = serializers.UUIDField(read_only=True)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    phone = serializers.CharField(
        max_length=64, required=False, allow_blank=True, help_text="Stored as E.164."
    )
    title = serializers.CharField(
        max_length=100, required=False, allow_blank=True, help_text="Job title."
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    company_id = VisibleRecordField(
        access=access_company, label="company", required=False, allow_null=True
    )
    custom = serializers.DictField(required=False, help_text=CUSTOM_HELP)
    owner = UserEmailField(
        read_only=True, allow_null=True, help_text="E-mail address of the owning user."
    )
    tags = TagNamesField()
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)


class CompanySerializer(ServiceSerializer):
    """An organization that contacts belong to."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(max_length=200)
    website = serializers.CharField(max_length=200, required=False, allow_blank=True)
    domain = serializers.CharField(read_only=True, help_text="Taken from the website.")
    phone = serializers.CharField(max_length=64, required=False, allow_blank=True)
    address = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(
        max_length=2, required=False, allow_blank=True, help_text="ISO 3166 alpha-2."
    )
    vat_id = serializers.CharField(max_length=40, required=False, allow_blank=True)
    custom = serializers.DictField(required=False, help_text=CUSTOM_HELP)
    owner = UserEmailField(
        read_only=True, allow_null=True, help_text="E-mail address of the owning user."
    )
    tags = TagNamesField()
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)


class TaskSerializer(ServiceSerializer):
    """Something to do, for a user, about a contact or company; ``done`` completes it."""

    service_names = {"contact_id": "contact", "company_id": "company", "is_done": "done"}

    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = UserEmailField(
        required=False,
        allow_null=True,
        help_text="E-mail address of the user who does it; the creator when left out.",
    )
    contact_id = VisibleRecordField(
        access=access_contact, label="contact", required=False, allow_null=True
    )
    company_id = VisibleRecordField(
        access=access_company,
        label="company",
        required=False,
        allow_null=True,
        help_text="The contact's company when left out.",
    )
    due_at = UtcDateTimeField(required=False, allow_null=True)
    done = serializers.BooleanField(source="is_done", required=False)
    done_at = UtcDateTimeField(read_only=True, allow_null=True)
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)
