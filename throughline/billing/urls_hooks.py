"""Payment gateway webhooks, included at ``/hooks/payments/`` (public, signature-checked)."""

from django.urls import path

from throughline.billing import hook_views

app_name = "billing_hooks"

urlpatterns = [
    path("<slug:gateway>", hook_views.gateway_webhook, name="webhook"),
]
