"""API shapes of contracts. A signer is shown with progress only: never a link or a code."""

from __future__ import annotations

from rest_framework import serializers

from throughline.api.fields import UtcDateTimeField, VisibleRecordField
from throughline.api.serializers import ServiceSerializer
from throughline.sales.access import access_proposal

CONTRACT_STATUSES = ["draft", "sent", "signed", "declined", "voided", "expired"]


class SignerSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    order = serializers.IntegerField(read_only=True)
    role = serializers.ChoiceField(choices=["client", "countersigner"], read_only=True)
    name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    status = serializers.ChoiceField(
        choices=["waiting", "invited", "viewed", "signed", "declined"], read_only=True
    )
    invited_at = UtcDateTimeField(read_only=True, allow_null=True)
    first_viewed_at = UtcDateTimeField(read_only=True, allow_null=True)
    signed_at = UtcDateTimeField(read_only=True, allow_null=True)
    declined_at = UtcDateTimeField(read_only=True, allow_null=True)
    decline_reason = serializers.CharField(read_only=True)


class ContractSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    number = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    document_kind = serializers.ChoiceField(
        source="kind", choices=["contract", "proposal"], read_only=True
    )
    status = serializers.ChoiceField(choices=CONTRACT_STATUSES, read_only=True)
    deal_id = serializers.UUIDField(read_only=True)
    proposal_id = serializers.UUIDField(read_only=True)
    proposal_version = serializers.IntegerField(source="proposal_version.number", read_only=True)
    template_id = serializers.UUIDField(
        source="template_version.template_id", read_only=True, allow_null=True, default=None
    )
    template_version = serializers.IntegerField(
        source="template_version.number", read_only=True, allow_null=True, default=None
    )
    sent_at = UtcDateTimeField(read_only=True, allow_null=True)
    signed_at = UtcDateTimeField(read_only=True, allow_null=True)
    voided_at = UtcDateTimeField(read_only=True, allow_null=True)
    expires_at = serializers.SerializerMethodField()
    document_sha256 = serializers.SerializerMethodField()
    sealed_sha256 = serializers.SerializerMethodField()
    signers = serializers.SerializerMethodField()

    def _current(self, contract):
        cache = self.context.setdefault("_current", {})
        if contract.pk not in cache:
            cache[contract.pk] = contract.current_request()
        return cache[contract.pk]

    def get_expires_at(self, contract) -> str | None:
        current = self._current(contract)
        return UtcDateTimeField().to_representation(current.expires_at) if current else None

    def get_document_sha256(self, contract) -> str:
        current = self._current(contract)
        return current.document_sha256 if current else ""

    def get_sealed_sha256(self, contract) -> str:
        current = self._current(contract)
        return current.sealed_sha256 if current else ""

    def get_signers(self, contract) -> list[dict]:
        current = self._current(contract)
        signers = current.signers.all() if current else []
        return SignerSerializer(signers, many=True).data


class ContractCreateSerializer(ServiceSerializer):
    proposal_id = VisibleRecordField(access=access_proposal, label="proposal")
    document_kind = serializers.ChoiceField(
        choices=["contract", "proposal"],
        required=False,
        help_text="`contract` (template clauses + the proposal as schedule) or `proposal` "
        "(the accepted proposal itself). Default: the signing settings.",
    )
    template_id = serializers.UUIDField(
        required=False, help_text="Contract template (its newest approved version)."
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)


class ContractSendSerializer(ServiceSerializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=365)


class ContractVoidSerializer(ServiceSerializer):
    reason = serializers.CharField(max_length=2000)
