"""API representations of deals, pipelines and proposals (DESIGN §6: money as strings beside
``currency``, times in UTC, ids opaque). Serializers check shape; services check meaning."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from throughline.api.fields import UserEmailField, UtcDateTimeField, VisibleRecordField
from throughline.api.serializers import ServiceSerializer
from throughline.core import money
from throughline.crm.access import access_company, access_contact
from throughline.sales.access import access_deal

MONEY_HELP = "Decimal string in the currency's minor unit, e.g. `1234.50`."


def money_string(amount, currency: str) -> str:
    return str(money.quantize(amount, currency))


class StageSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    probability = serializers.IntegerField(read_only=True, help_text="Win probability, percent.")
    stall_after_days = serializers.IntegerField(read_only=True, allow_null=True)


class PipelineSerializer(serializers.Serializer):
    """A pipeline and its ordered stages (use a stage's ``id`` as a deal's ``stage_id``)."""

    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    is_default = serializers.BooleanField(read_only=True)
    stages = serializers.SerializerMethodField()
    created_at = UtcDateTimeField(read_only=True)

    @extend_schema_field(StageSerializer(many=True))
    def get_stages(self, pipeline) -> list[dict]:
        stages = sorted(pipeline.stages.all(), key=lambda s: (s.position, s.name))
        return StageSerializer(stages, many=True).data


class DealSerializer(ServiceSerializer):
    """A deal. ``PATCH`` with ``stage_id`` moves it (``deal.stage_changed``)."""

    service_names = {
        "contact_id": "contact",
        "company_id": "company",
        "stage_id": "stage",
        "pipeline_id": "pipeline",
    }

    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(max_length=200)
    pipeline_id = serializers.UUIDField(
        required=False, help_text="On create; the default pipeline when left out."
    )
    stage_id = serializers.UUIDField(
        required=False, help_text="A stage of the deal's pipeline (see `GET /pipelines`)."
    )
    stage = serializers.CharField(source="stage.name", read_only=True)
    probability = serializers.IntegerField(read_only=True, help_text="Percent.")
    status = serializers.ChoiceField(
        choices=["open", "won", "lost"], read_only=True, help_text="`open`, `won` or `lost`."
    )
    value = serializers.DecimalField(
        max_digits=16, decimal_places=4, required=False, help_text=MONEY_HELP
    )
    currency = serializers.CharField(
        max_length=3, required=False, help_text="ISO 4217; the organization's when left out."
    )
    expected_close_date = serializers.DateField(required=False, allow_null=True)
    owner = UserEmailField(required=False, allow_null=True, help_text="E-mail of the owner.")
    contact_id = VisibleRecordField(
        access=access_contact, label="contact", required=False, allow_null=True
    )
    company_id = VisibleRecordField(
        access=access_company, label="company", required=False, allow_null=True
    )
    source = serializers.CharField(max_length=100, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    lost_reason = serializers.CharField(
        source="lost_reason.name", read_only=True, allow_null=True, default=None
    )
    lost_note = serializers.CharField(read_only=True)
    is_stalled = serializers.BooleanField(read_only=True)
    qualified_at = UtcDateTimeField(read_only=True, allow_null=True)
    closed_at = UtcDateTimeField(read_only=True, allow_null=True)
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["value"] = money_string(instance.value, instance.currency)
        return data


class LoseSerializer(ServiceSerializer):
    reason = serializers.CharField(
        max_length=100, help_text="A lost reason from the managed list (name or id)."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ProposalSerializer(serializers.Serializer):
    """A proposal and the figures of its newest version (server-computed)."""

    id = serializers.UUIDField(read_only=True)
    number = serializers.CharField(read_only=True)
    title = serializers.CharField(read_only=True)
    deal_id = serializers.UUIDField(read_only=True)
    template_id = serializers.UUIDField(source="template_version.template_id", read_only=True)
    template_version = serializers.IntegerField(source="template_version.number", read_only=True)
    status = serializers.ChoiceField(
        choices=["draft", "sent", "accepted", "expired", "withdrawn"], read_only=True
    )
    version = serializers.IntegerField(read_only=True, help_text="Newest version's number.")
    version_status = serializers.CharField(
        read_only=True,
        help_text="draft, pending_approval, approved, sent, superseded or accepted.",
    )
    currency = serializers.CharField(read_only=True)
    net_total = serializers.CharField(read_only=True, help_text=MONEY_HELP)
    tax_total = serializers.CharField(read_only=True, help_text=MONEY_HELP)
    gross_total = serializers.CharField(read_only=True, help_text=MONEY_HELP)
    valid_until = serializers.DateField(read_only=True)
    approval_required = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Why the newest version needs internal approval before sending (empty: none).",
    )
    approved = serializers.BooleanField(read_only=True)
    qualified_at = UtcDateTimeField(read_only=True, allow_null=True)
    sent_at = UtcDateTimeField(read_only=True, allow_null=True)
    first_viewed_at = UtcDateTimeField(read_only=True, allow_null=True)
    view_count = serializers.IntegerField(read_only=True)
    accepted_at = UtcDateTimeField(read_only=True, allow_null=True)
    created_at = UtcDateTimeField(read_only=True)
    updated_at = UtcDateTimeField(read_only=True)

    def to_representation(self, proposal):
        from throughline.sales.services import approvals

        data = super().to_representation(proposal)
        latest = proposal.latest_version()
        data["version"] = latest.number
        data["version_status"] = latest.status
        data["net_total"] = money_string(latest.net_total, proposal.currency)
        data["tax_total"] = money_string(latest.tax_total, proposal.currency)
        data["gross_total"] = money_string(latest.gross_total, proposal.currency)
        data["valid_until"] = latest.valid_until.isoformat()
        reasons = approvals.approval_reasons(latest) if latest.is_editable else []
        data["approval_required"] = [r["detail"] for r in reasons]
        data["approved"] = bool(reasons) and approvals.is_approved(latest)
        return data


class ProposalCreateSerializer(ServiceSerializer):
    """Create a draft from a deal and a template (its newest approved version)."""

    service_names = {"deal_id": "deal"}

    deal_id = VisibleRecordField(access=access_deal, label="deal")
    template_id = serializers.UUIDField(
        required=False, help_text="Uses the template's newest approved version."
    )
    template_version_id = serializers.UUIDField(
        required=False, help_text="A specific version; refused unless approved."
    )
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs.get("template_id") and not attrs.get("template_version_id"):
            raise serializers.ValidationError(
                {"template_id": ["Give template_id (or template_version_id)."]}
            )
        return attrs


class SendSerializer(ServiceSerializer):
    message = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text="Added to the e-mail."
    )


class RequestApprovalSerializer(ServiceSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
