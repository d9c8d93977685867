from django.contrib import admin
from django.urls import include, path

from throughline.core import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("throughline.core.urls")),
    path("crm/", include("throughline.crm.urls")),
    path("u/", include("throughline.messaging.urls")),
    path("api/v1/", include("throughline.api.urls")),
    path("django-admin/", admin.site.urls),
]

handler403 = "throughline.core.views.errors.permission_denied"
handler404 = "throughline.core.views.errors.not_found"
