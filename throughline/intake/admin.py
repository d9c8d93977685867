"""Django admin for intake: sources are configuration (editable); leads are read-only.

Leads, possible duplicates and merges change through ``throughline.intake.services``
(validation, audit entry, domain event), so the admin only shows them.
"""

from django.contrib import admin

from throughline.intake.models import ContactMerge, Lead, LeadSource, PossibleDuplicate


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LeadSource)
class LeadSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "default_owner", "sla_minutes", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    list_select_related = ("default_owner",)


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "source", "channel", "status", "owner", "received_at", "sla_due_at")
    list_filter = ("status", "channel", "source")
    search_fields = ("first_name", "last_name", "email", "phone", "company_name")
    list_select_related = ("source", "owner")
    date_hierarchy = "received_at"


@admin.register(PossibleDuplicate)
class PossibleDuplicateAdmin(ReadOnlyAdmin):
    list_display = ("contact", "candidate", "confidence", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("contact", "candidate")


@admin.register(ContactMerge)
class ContactMergeAdmin(ReadOnlyAdmin):
    list_display = ("merged_repr", "survivor", "merged_by", "merged_at")
    list_select_related = ("survivor", "merged_by")
