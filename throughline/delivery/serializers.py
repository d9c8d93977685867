"""API shapes of projects and milestones (money as strings beside the currency)."""

from __future__ import annotations

from rest_framework import serializers

from throughline.api.fields import UtcDateTimeField
from throughline.delivery.models import Milestone, Project


class QAItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)
    done_at = UtcDateTimeField(read_only=True, allow_null=True)


class MilestoneSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    project_id = serializers.UUIDField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    title = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Milestone.Status.values, read_only=True)
    due_date = serializers.DateField(read_only=True, allow_null=True)
    late = serializers.SerializerMethodField()
    revision_count = serializers.IntegerField(read_only=True)
    percent = serializers.DecimalField(
        max_digits=7, decimal_places=4, read_only=True, allow_null=True
    )
    amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, read_only=True, allow_null=True
    )
    currency = serializers.CharField(read_only=True)
    delivered_at = UtcDateTimeField(read_only=True, allow_null=True)
    accepted_at = UtcDateTimeField(read_only=True, allow_null=True)
    accepted_by = serializers.CharField(read_only=True)
    qa_checklist = QAItemSerializer(source="qa_items", many=True, read_only=True)

    def get_late(self, milestone: Milestone) -> bool:
        from throughline.delivery.services.projects import org_today

        return milestone.is_late(org_today())


class ProjectSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    name = serializers.CharField(read_only=True)
    status = serializers.ChoiceField(choices=Project.Status.values, read_only=True)
    kind = serializers.ChoiceField(choices=Project.Kind.values, read_only=True)
    contact_id = serializers.UUIDField(read_only=True)
    company_id = serializers.UUIDField(read_only=True, allow_null=True)
    deal_id = serializers.UUIDField(read_only=True, allow_null=True)
    proposal_id = serializers.UUIDField(read_only=True, allow_null=True)
    contract_id = serializers.UUIDField(read_only=True, allow_null=True)
    owner = serializers.EmailField(source="owner.email", read_only=True, allow_null=True)
    currency = serializers.CharField(read_only=True)
    start_date = serializers.DateField(read_only=True)
    kickoff_date = serializers.DateField(read_only=True, allow_null=True)
    missing_for_kickoff = serializers.SerializerMethodField()
    brief = serializers.JSONField(read_only=True)
    retainer_amount = serializers.DecimalField(
        max_digits=18, decimal_places=2, read_only=True, allow_null=True
    )
    closed_at = UtcDateTimeField(read_only=True, allow_null=True)
    created_at = UtcDateTimeField(read_only=True)
    milestones = MilestoneSerializer(many=True, read_only=True)

    def get_missing_for_kickoff(self, project: Project) -> list[str]:
        from throughline.delivery.services.projects import readiness

        return readiness(project)


class KickoffSerializer(serializers.Serializer):
    kickoff_date = serializers.DateField()


class CloseSerializer(serializers.Serializer):
    outcomes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class AcceptSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    accepted_by = serializers.CharField(required=False, allow_blank=True, max_length=200)


class ChangesSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=5000)
