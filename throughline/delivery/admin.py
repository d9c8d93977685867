"""Read-only admin for delivery: records change through the services, never here."""

from __future__ import annotations

from django.contrib import admin

from throughline.delivery.models import (
    Milestone,
    MilestoneReview,
    Project,
    ProjectTemplate,
    QAPass,
    RetainerPeriod,
    Testimonial,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ["name", "contact", "status", "kind", "kickoff_date", "created_at"]
    list_filter = ["status", "kind"]
    search_fields = ["name"]


@admin.register(Milestone)
class MilestoneAdmin(ReadOnlyAdmin):
    list_display = ["title", "project", "status", "due_date", "revision_count"]
    list_filter = ["status"]


admin.site.register(
    [ProjectTemplate, QAPass, MilestoneReview, RetainerPeriod, Testimonial], ReadOnlyAdmin
)
