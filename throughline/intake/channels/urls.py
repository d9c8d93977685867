"""Every channel URL, mounted at the root by one include in ``throughline/urls.py``.

Public (no login): ``f/<slug>`` (HTML, ``/embed`` for iframes, ``.json``),
``hooks/leads/<source>``, ``hooks/email`` (and ``hooks/email/<token>``),
``hooks/calls/<provider>`` — under their own prefixes, so other apps can add
``hooks/payments/…`` beside them. Staff pages live under ``intake/``.
"""

from django.urls import path

from throughline.intake.channels.views import calls, forms_admin, imports, public, sources

app_name = "intake_channels"

urlpatterns = [
    # Public
    path("f/<slug:slug>", public.form_page, name="form_page"),
    path("f/<slug:slug>/embed", public.form_embed, name="form_embed"),
    path("f/<slug:slug>.json", public.form_json, name="form_json"),
    path("hooks/leads/<slug:source>", public.lead_hook, name="lead_hook"),
    path("hooks/email", public.email_hook, name="email_hook"),
    path("hooks/email/<str:token>", public.email_hook, name="email_hook_token"),
    path("hooks/calls/<slug:provider>", public.call_hook, name="call_hook"),
    # Staff: form builder
    path("intake/forms/", forms_admin.form_list, name="form_list"),
    path("intake/forms/new/", forms_admin.form_create, name="form_create"),
    path("intake/forms/<uuid:pk>/", forms_admin.form_edit, name="form_edit"),
    path("intake/forms/<uuid:pk>/embed/", forms_admin.form_embed_code, name="form_embed_code"),
    path("intake/forms/<uuid:pk>/fields/new/", forms_admin.field_edit, name="field_create"),
    path(
        "intake/forms/<uuid:pk>/fields/<int:field_id>/", forms_admin.field_edit, name="field_edit"
    ),
    path(
        "intake/forms/<uuid:pk>/fields/<int:field_id>/delete/",
        forms_admin.field_delete,
        name="field_delete",
    ),
    path(
        "intake/forms/<uuid:pk>/fields/<int:field_id>/move/",
        forms_admin.field_move,
        name="field_move",
    ),
    # Staff: webhook sources and mailboxes
    path("intake/sources/", sources.source_list, name="source_list"),
    path("intake/sources/new/", sources.source_create, name="source_create"),
    path("intake/sources/<uuid:pk>/", sources.source_edit, name="source_edit"),
    path("intake/sources/<uuid:pk>/rotate/", sources.source_rotate, name="source_rotate"),
    path("intake/mailboxes/", sources.mailbox_list, name="mailbox_list"),
    path("intake/mailboxes/new/", sources.mailbox_edit, name="mailbox_create"),
    path("intake/mailboxes/<uuid:pk>/", sources.mailbox_edit, name="mailbox_edit"),
    path("intake/mailboxes/<uuid:pk>/token/", sources.mailbox_token, name="mailbox_token"),
    path("intake/mailboxes/<uuid:pk>/fetch/", sources.mailbox_fetch, name="mailbox_fetch"),
    # Staff: CSV import
    path("intake/imports/", imports.import_list, name="import_list"),
    path("intake/imports/new/", imports.import_upload, name="import_upload"),
    path("intake/imports/<uuid:pk>/", imports.import_detail, name="import_detail"),
    path("intake/imports/<uuid:pk>/check/", imports.import_check, name="import_check"),
    path("intake/imports/<uuid:pk>/run/", imports.import_run, name="import_run"),
    path("intake/imports/<uuid:pk>/progress/", imports.import_progress, name="import_progress"),
    # Staff: calls
    path("intake/calls/", calls.call_list, name="call_list"),
    path("intake/calls/new/", calls.call_create, name="call_create"),
]
