"""Signing settings: the sealing certificate (generate, upload PKCS#12) and how we sign."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from throughline.core import audit_log
from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.sales.views.common import flash_errors
from throughline.signing.forms import CertificateUploadForm, SigningSettingsForm
from throughline.signing.models import SigningCertificate, SigningSettings
from throughline.signing.services import certificates


@requires("signing.manage")
def signing_settings(request: HttpRequest) -> HttpResponse:
    options = SigningSettings.current()
    form = SigningSettingsForm(request.POST or None, instance=options)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            before = audit_log.snapshot(SigningSettings.objects.select_for_update().get(pk=1))
            saved = form.save()
            changes = audit_log.diff(before, audit_log.snapshot(saved))
            if changes:
                audit_log.record(
                    Actor.from_request(request), "signing_settings.updated", saved, changes=changes
                )
        messages.success(request, "Signing settings saved.")
        return redirect("signing:settings")
    active = certificates.active_certificate()
    return render(
        request,
        "signing/settings/settings.html",
        {
            "form": form,
            "upload_form": CertificateUploadForm(),
            "active": active,
            "active_info": certificates.describe(active) if active else None,
            "previous": SigningCertificate.objects.filter(active=False)[:10],
        },
    )


@requires("signing.manage")
@require_POST
def certificate_generate(request: HttpRequest) -> HttpResponse:
    try:
        certificates.generate(Actor.from_request(request))
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "A new self-signed certificate seals documents from now on.")
    return redirect("signing:settings")


@requires("signing.manage")
@require_POST
def certificate_upload(request: HttpRequest) -> HttpResponse:
    form = CertificateUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a PKCS#12 file.")
        return redirect("signing:settings")
    upload = form.cleaned_data["file"]
    try:
        certificates.upload_pkcs12(
            Actor.from_request(request),
            upload.read(certificates.MAX_P12_BYTES + 1),
            form.cleaned_data["password"],
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request, "Certificate installed. Documents are sealed with it from now on."
        )
    return redirect("signing:settings")
