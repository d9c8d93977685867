"""Staff: CSV import — upload, column mapping with preview, dry run, run with progress."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from throughline.core.access import requires
from throughline.core.actor import Actor
from throughline.core.views.common import add_service_errors
from throughline.intake.channels import csv_import
from throughline.intake.channels.models import CsvImport, CsvMappingPreset
from throughline.intake.channels.staff_forms import MappingForm, UploadForm

RUNNING = {CsvImport.Status.QUEUED, CsvImport.Status.RUNNING}


@requires("leads.edit")
def import_list(request: HttpRequest) -> HttpResponse:
    imports = CsvImport.objects.select_related("created_by").order_by("-created_at")[:50]
    return render(
        request, "intake_channels/imports/list.html", {"imports": imports, "form": UploadForm()}
    )


@requires("leads.edit")
def import_upload(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > csv_import.MAX_IMPORT_BYTES:
            form.add_error("file", f"At most {csv_import.MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        else:
            try:
                imp, _ = csv_import.create_import(
                    Actor.from_request(request),
                    upload.name,
                    upload.read(),
                    source=form.cleaned_data["source"],
                )
            except csv_import.ImportError_ as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("intake_channels:import_detail", pk=imp.pk)
    return render(
        request,
        "intake_channels/imports/upload.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _mapping_form(imp: CsvImport, data=None) -> MappingForm:
    initial = {"mode": imp.mode, "source": imp.lead_source_slug, "acknowledge": imp.acknowledge}
    for index, header in enumerate(imp.headers):
        initial[f"col_{index}"] = imp.mapping.get(header, "")
    return MappingForm(imp.headers, data, initial=initial)


def _detail(
    request: HttpRequest, imp: CsvImport, form: MappingForm | None = None, status: int = 200
):
    sniffed = csv_import.load(imp)
    remembered = CsvMappingPreset.objects.filter(
        header_key=csv_import.header_key(imp.headers)
    ).exists()
    context = {
        "imp": imp,
        "form": form or _mapping_form(imp),
        "preview": csv_import.preview(sniffed, imp.mapping),
        "headers": imp.headers,
        "remembered": remembered,
        "report": imp.report if imp.status == CsvImport.Status.CHECKED else None,
        "running": imp.status in RUNNING,
        "targets": csv_import.targets(),
    }
    return render(request, "intake_channels/imports/detail.html", context, status=status)


@requires("leads.edit")
def import_detail(request: HttpRequest, pk) -> HttpResponse:
    return _detail(request, get_object_or_404(CsvImport, pk=pk))


@requires("leads.edit")
@require_POST
def import_check(request: HttpRequest, pk) -> HttpResponse:
    """Save the mapping and options, then the dry run (nothing is imported yet)."""
    imp = get_object_or_404(CsvImport, pk=pk)
    form = _mapping_form(imp, request.POST)
    if not form.is_valid():
        return _detail(request, imp, form, status=400)
    try:
        csv_import.configure(
            Actor.from_request(request),
            imp,
            mapping=form.mapping(),
            mode=form.cleaned_data["mode"],
            source=form.cleaned_data["source"],
            acknowledge=form.cleaned_data["acknowledge"],
        )
    except ValidationError as exc:
        for message in exc.message_dict.get("mapping", []):
            form.add_error(None, message)
        exc.error_dict.pop("mapping", None)
        if exc.error_dict:
            add_service_errors(form, exc)
        return _detail(request, imp, form, status=400)
    csv_import.check(imp)
    return redirect("intake_channels:import_detail", pk=imp.pk)


@requires("leads.edit")
@require_POST
def import_run(request: HttpRequest, pk) -> HttpResponse:
    imp = get_object_or_404(CsvImport, pk=pk)
    if imp.status != CsvImport.Status.CHECKED:
        messages.error(request, "Run the dry run first.")
        return redirect("intake_channels:import_detail", pk=imp.pk)
    if imp.mode == CsvImport.Mode.ALL_OR_NOTHING and imp.report.get("invalid"):
        messages.error(request, "All or nothing: fix the invalid rows (or skip them) first.")
        return redirect("intake_channels:import_detail", pk=imp.pk)
    try:
        csv_import.queue(Actor.from_request(request), imp)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("intake_channels:import_detail", pk=imp.pk)


@requires("leads.edit")
def import_progress(request: HttpRequest, pk) -> HttpResponse:
    """The progress fragment htmx polls while the job runs (it stops polling when done)."""
    imp = get_object_or_404(CsvImport, pk=pk)
    return render(
        request,
        "intake_channels/imports/_progress.html",
        {"imp": imp, "running": imp.status in RUNNING},
    )
