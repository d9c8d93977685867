"""Read-only admin views of the ledger. Changes go through services.py (staff pages, API), so
they are validated, audited and never bypass the SSRF guard; secrets are not shown here."""

from django.contrib import admin

from throughline.integrations.models import (
    Integration,
    IntegrationCall,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("name", "is_active", "consecutive_failures", "last_success_at", "created_at")
    list_filter = ("is_active",)
    exclude = ("url", "secret", "previous_secret")  # may hold credentials; never shown here


class AttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    fields = ("number", "started_at", "outcome", "response_status", "latency_ms", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event_name", "endpoint", "status", "attempt_count", "created_at")
    list_filter = ("status",)
    inlines = [AttemptInline]


@admin.register(Integration)
class IntegrationAdmin(ReadOnlyAdmin):
    list_display = ("label", "kind", "state", "calls_24h", "failures_24h", "p95_ms")
    list_filter = ("kind", "state")


@admin.register(IntegrationCall)
class IntegrationCallAdmin(ReadOnlyAdmin):
    list_display = ("integration", "at", "ok", "latency_ms", "error")
    list_filter = ("ok",)
