"""REST API v1, assembled from each app's ``api.py`` (included at ``/api/v1/``).

To add an app's endpoints: write ``throughline/<app>/api.py`` with viewsets based on
``throughline.api.views.ApiViewSet`` and a ``ROUTES`` list of ``(prefix, viewset, basename)``
(plus ``urlpatterns`` for endpoints that are not resources), then add the module to
``API_MODULES`` below, in flow order (DESIGN §2). The router refuses a viewset that does not
use the shared base, so no endpoint misses authentication, the role check, idempotency or
problem responses.

``/api/v1/openapi.json`` and ``/api/v1/docs`` are public: the contract is no secret, and the
docs page asks for a token ("Authorize") before it calls anything.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static
from django.urls import path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from throughline.api import core_api
from throughline.api.errors import not_found
from throughline.api.views import ApiViewMixin
from throughline.billing import api as billing_api
from throughline.crm import api as crm_api
from throughline.intake import api as intake_api
from throughline.integrations import api as integrations_api
from throughline.sales import api as sales_api
from throughline.signing import api as signing_api

app_name = "api"

# Flow order; intake, sales, billing … add theirs here.
API_MODULES = [core_api, crm_api, intake_api, sales_api, signing_api, billing_api, integrations_api]
API_MODULES.append(__import__("throughline.reports.api", fromlist=["api"]))  # reports
API_MODULES.append(__import__("throughline.intake.scoring.api", fromlist=["api"]))  # qualify
API_MODULES.append(__import__("throughline.sales.lead_conversion_api", fromlist=["api"]))  # convert
API_MODULES.append(__import__("throughline.delivery.api", fromlist=["api"]))  # delivery
API_MODULES.append(__import__("throughline.intake.booking.api", fromlist=["api"]))  # booking


class ApiRouter(SimpleRouter):
    """Paths without a trailing slash (``/contacts/{id}``), only for ``ApiViewSet``s."""

    def __init__(self):
        super().__init__(trailing_slash=False)

    def register(self, prefix, viewset, basename=None):
        _require_base(viewset)
        super().register(prefix, viewset, basename)


def _require_base(view_class) -> None:
    if not (isinstance(view_class, type) and issubclass(view_class, ApiViewMixin)):
        raise ImproperlyConfigured(
            f"{view_class!r} must inherit throughline.api.views.ApiView or ApiViewSet"
        )


class OpenApiView(ApiViewMixin, SpectacularJSONAPIView):
    throughline_public = True
    authentication_classes: list = []


class DocsView(ApiViewMixin, SpectacularSwaggerView):
    throughline_public = True
    authentication_classes: list = []
    url_name = "api:openapi"

    @staticmethod
    def _swagger_ui_favicon():
        # The default favicon is on a CDN; everything the page loads comes from our static files.
        return static("drf_spectacular_sidecar/swagger-ui-dist/favicon-32x32.png")


router = ApiRouter()
extra_patterns = []
for module in API_MODULES:
    for prefix, viewset, basename in module.ROUTES:
        router.register(prefix, viewset, basename)
    for pattern in getattr(module, "urlpatterns", []):
        _require_base(getattr(pattern.callback, "cls", None))
        extra_patterns.append(pattern)

urlpatterns = [
    path("openapi.json", OpenApiView.as_view(), name="openapi"),
    path("docs", DocsView.as_view(), name="docs"),
    *router.urls,
    *extra_patterns,
    # Last: anything else under /api/v1/ is a 404 problem, not the staff UI's HTML page.
    re_path(r"^.*$", not_found, name="not-found"),
]
