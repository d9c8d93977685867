"""Django admin for sales: read-only views for support and debugging.

Every change goes through ``throughline.sales.services`` (validation, audit entry, event) —
pipelines, lost reasons and approval rules under Sales settings, the rest in the sales pages —
so the admin offers no add, change or delete.
"""

from django.contrib import admin

from throughline.sales.models import (
    ApprovalPolicy,
    CatalogueItem,
    Deal,
    LostReason,
    Pipeline,
    Proposal,
    ProposalAcceptance,
    ProposalApproval,
    ProposalComment,
    ProposalTemplate,
    ProposalVersion,
    Stage,
    TemplateVersion,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StageInline(admin.TabularInline):
    model = Stage
    fields = ("position", "name", "probability", "stall_after_days")
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Pipeline)
class PipelineAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_default", "archived", "position")
    inlines = [StageInline]


@admin.register(LostReason)
class LostReasonAdmin(ReadOnlyAdmin):
    list_display = ("name", "active", "position")


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    list_display = ("title", "status", "stage", "value", "currency", "owner", "updated_at")
    list_filter = ("status", "pipeline", "stage")
    search_fields = ("title",)
    list_select_related = ("stage", "owner")
    date_hierarchy = "created_at"


@admin.register(CatalogueItem)
class CatalogueItemAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "unit_price", "currency", "unit", "tax_rate", "active")
    list_filter = ("active", "kind", "currency")
    search_fields = ("name", "code")


class TemplateVersionInline(admin.TabularInline):
    model = TemplateVersion
    fields = ("number", "status", "currency", "decided_by", "decided_at")
    readonly_fields = fields
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProposalTemplate)
class ProposalTemplateAdmin(ReadOnlyAdmin):
    list_display = ("name", "archived", "updated_at")
    inlines = [TemplateVersionInline]


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "status", "deal", "sent_at", "view_count", "accepted_at")
    list_filter = ("status",)
    search_fields = ("number", "title")
    list_select_related = ("deal",)


@admin.register(ProposalVersion)
class ProposalVersionAdmin(ReadOnlyAdmin):
    list_display = ("proposal", "number", "status", "gross_total", "valid_until", "sent_at")
    list_filter = ("status",)
    list_select_related = ("proposal",)


@admin.register(ProposalApproval)
class ProposalApprovalAdmin(ReadOnlyAdmin):
    list_display = ("version", "status", "requested_by", "decided_by", "decided_at")
    list_filter = ("status",)


@admin.register(ProposalComment)
class ProposalCommentAdmin(ReadOnlyAdmin):
    list_display = ("proposal", "author_name", "is_client", "internal", "created_at")
    list_filter = ("is_client", "internal")


@admin.register(ProposalAcceptance)
class ProposalAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ("proposal", "version", "name", "gross_total", "currency", "accepted_at")


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(ReadOnlyAdmin):
    list_display = ("max_discount_percent", "total_threshold", "threshold_currency")
