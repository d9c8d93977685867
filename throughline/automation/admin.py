"""Read-only admin views of automation records, for support; changes go through services."""

from django.contrib import admin

from throughline.automation.models import (
    Enrollment,
    Sequence,
    StepRun,
    Workflow,
    WorkflowRun,
    WorkflowVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyAdmin):
    list_display = ("name", "key", "is_active", "current_version", "next_fire_at")
    search_fields = ("name", "key")


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    list_display = ("workflow", "number", "trigger_type", "trigger_event", "created_at")


@admin.register(WorkflowRun)
class WorkflowRunAdmin(ReadOnlyAdmin):
    list_display = ("workflow", "subject_repr", "status", "created_at")
    list_filter = ("status",)


@admin.register(StepRun)
class StepRunAdmin(ReadOnlyAdmin):
    list_display = ("run", "step_id", "action", "status", "attempts", "created_at")
    list_filter = ("status",)


@admin.register(Sequence)
class SequenceAdmin(ReadOnlyAdmin):
    list_display = ("name", "key", "purpose", "is_active")


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdmin):
    list_display = ("contact", "sequence", "status", "stop_reason", "created_at")
    list_filter = ("status", "stop_reason")
