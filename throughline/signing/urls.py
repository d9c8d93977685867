"""Signing's URLs, included once at the root: staff pages under ``/signing/`` (namespace
``signing``) and the signer's pages under ``/c/<token>/sign`` (namespace ``signing_portal``)."""

from django.urls import include, path

from throughline.signing import portal_views
from throughline.signing.views import contracts, settings, templates

staff = [
    path("", contracts.contract_list, name="contract_list"),
    path("new/<uuid:proposal>", contracts.contract_new, name="contract_new"),
    path("<uuid:pk>/", contracts.contract_detail, name="contract_detail"),
    path("<uuid:pk>/edit", contracts.contract_edit, name="contract_edit"),
    path("<uuid:pk>/send", contracts.contract_send, name="contract_send"),
    path("<uuid:pk>/void", contracts.contract_void, name="contract_void"),
    path("<uuid:pk>/pdf", contracts.contract_pdf, name="contract_pdf"),
    path("<uuid:pk>/evidence.json", contracts.contract_evidence, name="contract_evidence"),
    path(
        "<uuid:pk>/signers/<uuid:signer>/signature.png",
        contracts.signer_signature,
        name="signer_signature",
    ),
    path("templates/", templates.template_list, name="template_list"),
    path("templates/new", templates.template_new, name="template_new"),
    path("templates/<uuid:pk>/", templates.template_detail, name="template_detail"),
    path("templates/<uuid:pk>/submit", templates.template_submit, name="template_submit"),
    path(
        "templates/versions/<uuid:pk>/<str:decision>",
        templates.version_decide,
        name="version_decide",
    ),
    path("settings/", settings.signing_settings, name="settings"),
    path("settings/certificate/generate", settings.certificate_generate, name="cert_generate"),
    path("settings/certificate/upload", settings.certificate_upload, name="cert_upload"),
]

portal = [
    path("<str:token>/sign", portal_views.sign_page, name="sign"),
    path("<str:token>/sign/code", portal_views.request_code, name="request_code"),
    path("<str:token>/sign/verify", portal_views.verify_code, name="verify_code"),
    path("<str:token>/sign/consent", portal_views.give_consent, name="consent"),
    path("<str:token>/sign/document.pdf", portal_views.document_pdf, name="document_pdf"),
    path("<str:token>/sign/submit", portal_views.sign, name="submit"),
    path("<str:token>/sign/decline", portal_views.decline, name="decline"),
    path("<str:token>/sign/signed.pdf", portal_views.signed_pdf, name="signed_pdf"),
]

urlpatterns = [
    path("signing/", include((staff, "signing"))),
    path("c/", include((portal, "signing_portal"))),
]
