"""Lead → deal conversion page, mounted at ``sales/leads/`` by ``throughline/urls.py``."""

from django.urls import path

from throughline.sales.views import lead_conversion

app_name = "sales_lead_conversion"

urlpatterns = [path("<uuid:pk>/convert/", lead_conversion.convert, name="convert")]
