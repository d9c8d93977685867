"""The client's invoice pages ``/c/<token>/invoice…``, included at ``/c/`` (magic link, no login)."""

from django.urls import path

from throughline.billing import portal_views

app_name = "billing_portal"

urlpatterns = [
    path("<str:token>/invoice", portal_views.invoice_page, name="invoice"),
    path("<str:token>/invoice/pdf", portal_views.invoice_pdf, name="pdf"),
    path("<str:token>/invoice/ubl", portal_views.invoice_ubl, name="ubl"),
    path("<str:token>/invoice/pay", portal_views.invoice_pay, name="pay"),
]
