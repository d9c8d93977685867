"""Read-only admin for billing: records change through the services, never here."""

from __future__ import annotations

from django.contrib import admin

from throughline.billing.models import (
    Allocation,
    CheckoutSession,
    GatewayEvent,
    Invoice,
    InvoiceLine,
    NumberSequence,
    Payment,
    Refund,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    readonly_fields = [f.name for f in InvoiceLine._meta.fields]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = (
        "number",
        "document_type",
        "status",
        "contact",
        "gross_total",
        "currency",
        "issue_date",
    )
    list_filter = ("status", "document_type", "currency")
    search_fields = ("number", "contact__email", "company__name")
    inlines = [InvoiceLineInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("received_on", "contact", "amount", "currency", "method", "status", "gateway")
    list_filter = ("status", "method", "gateway")
    search_fields = ("reference", "gateway_reference", "contact__email")


admin.site.register(Allocation, ReadOnlyAdmin)
admin.site.register(Refund, ReadOnlyAdmin)
admin.site.register(CheckoutSession, ReadOnlyAdmin)
admin.site.register(GatewayEvent, ReadOnlyAdmin)
admin.site.register(NumberSequence, ReadOnlyAdmin)
