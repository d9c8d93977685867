from django.contrib import admin
from django.urls import include, path

from throughline.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("throughline.core.urls")),
    path("crm/", include("throughline.crm.urls")),
    path("sales/", include("throughline.sales.urls")),
    path("c/", include("throughline.sales.portal_urls")),
    path("", include("throughline.signing.urls")),  # signing/ (staff) and c/<token>/sign (signers)
    path("leads/", include("throughline.intake.urls")),
    path(
        "", include("throughline.intake.channels.urls")
    ),  # f/, hooks/{leads,email,calls}/, intake/
    path("leads/scoring/", include("throughline.intake.scoring.urls")),
    path("sales/leads/", include("throughline.sales.lead_conversion_urls")),
    path("intake/routing/", include("throughline.intake.routing.urls")),
    path("", include("throughline.intake.booking.urls")),  # b/ (public), intake/booking/
    path("u/", include("throughline.messaging.urls")),
    path("automation/", include("throughline.automation.urls")),
    path("integrations/", include("throughline.integrations.urls")),
    path("api/v1/", include("throughline.api.urls")),
    path("billing/", include("throughline.billing.urls")),
    path("hooks/payments/", include("throughline.billing.urls_hooks")),
    path("c/", include("throughline.billing.urls_portal")),
    path("reports/", include("throughline.reports.urls")),
    path("delivery/", include("throughline.delivery.urls")),
    path("c/", include("throughline.portal.urls")),  # client portal home /c/<token>/ …
    path("django-admin/", admin.site.urls),
]

handler403 = "throughline.core.views.errors.permission_denied"
handler404 = "throughline.core.views.errors.not_found"
