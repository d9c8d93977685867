"""Django admin for the CRM: read-only views of the records, for support and debugging.

Changes to contacts, companies, activities, tasks and consent go through
``throughline.crm.services`` (validation, audit entry, domain event), and custom field
definitions through ``custom_field_services`` (Settings → Custom fields), so the admin offers
no add, change or delete for them. Tags have no service yet; they stay editable here.
"""

from django.contrib import admin

from throughline.crm.models import (
    Activity,
    Company,
    ConsentRecord,
    Contact,
    CustomFieldDefinition,
    Tag,
    Task,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "color")
    search_fields = ("name",)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(ReadOnlyAdmin):
    list_display = ("label", "entity", "key", "kind", "required", "position")
    list_filter = ("entity", "kind", "required")
    search_fields = ("label", "key")


@admin.register(Company)
class CompanyAdmin(ReadOnlyAdmin):
    list_display = ("name", "domain", "country", "owner", "updated_at")
    search_fields = ("name", "domain", "vat_id")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "email", "phone", "company", "owner", "updated_at")
    search_fields = ("first_name", "last_name", "email_normalized", "phone")
    list_filter = ("tags",)
    list_select_related = ("company", "owner")
    date_hierarchy = "created_at"


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("kind", "subject", "contact", "company", "author", "occurred_at")
    list_filter = ("kind",)
    search_fields = ("subject", "body")
    list_select_related = ("contact", "company", "author")
    date_hierarchy = "occurred_at"


@admin.register(Task)
class TaskAdmin(ReadOnlyAdmin):
    list_display = ("title", "owner", "contact", "due_at", "done_at")
    search_fields = ("title",)
    list_select_related = ("owner", "contact")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("contact", "purpose", "granted", "wording_version", "source", "recorded_at")
    list_filter = ("purpose", "granted")
    list_select_related = ("contact",)
