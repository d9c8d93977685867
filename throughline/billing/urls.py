"""Staff pages of billing, included at ``/billing/``."""

from django.urls import path

from throughline.billing.views import (
    actions,
    collections,
    invoices,
    payments,
    settings,
    statements,
)

app_name = "billing"

urlpatterns = [
    path("invoices/", invoices.invoice_list, name="invoice_list"),
    path("invoices/new/", invoices.invoice_create, name="invoice_create"),
    path("invoices/<uuid:pk>/", invoices.invoice_detail, name="invoice_detail"),
    path("invoices/<uuid:pk>/save/", invoices.invoice_save, name="invoice_save"),
    path("invoices/<uuid:pk>/totals/", invoices.invoice_totals, name="invoice_totals"),
    path("invoices/<uuid:pk>/delete/", invoices.invoice_delete, name="invoice_delete"),
    path("invoices/<uuid:pk>/issue/", invoices.invoice_issue, name="invoice_issue"),
    path("invoices/<uuid:pk>/send/", invoices.invoice_send, name="invoice_send"),
    path("invoices/<uuid:pk>/link/", invoices.invoice_client_link, name="invoice_client_link"),
    path("invoices/<uuid:pk>/pdf/", invoices.invoice_pdf, name="invoice_pdf"),
    path("invoices/<uuid:pk>/ubl/", invoices.invoice_ubl, name="invoice_ubl"),
    path("invoices/<uuid:pk>/payments/", actions.payment_create, name="payment_create"),
    path("invoices/<uuid:pk>/apply-credit/", actions.apply_credit, name="apply_credit"),
    path("invoices/<uuid:pk>/credit-note/", actions.credit_note_create, name="credit_note_create"),
    path("invoices/<uuid:pk>/reminders/", collections.invoice_reminders, name="invoice_reminders"),
    path("invoices/<uuid:pk>/dispute/", collections.invoice_dispute, name="invoice_dispute"),
    path("reminders/", collections.policy_page, name="dunning_policy"),
    path("reminders/policy/", collections.policy_save, name="dunning_policy_save"),
    path("reminders/rates/", collections.reference_rate_save, name="dunning_rate_save"),
    path(
        "reminders/clients/<uuid:pk>/pause/",
        collections.contact_pause,
        name="dunning_contact_pause",
    ),
    path("statements/", statements.statement_list, name="statement_list"),
    path("statements/upload/", statements.statement_upload, name="statement_upload"),
    path("statements/unmatched/", statements.unmatched_lines, name="statement_unmatched"),
    path("statements/<uuid:pk>/", statements.statement_detail, name="statement_detail"),
    path("statements/lines/<int:pk>/confirm/", statements.line_confirm, name="line_confirm"),
    path("statements/lines/<int:pk>/match/", statements.line_match, name="line_match"),
    path("statements/lines/<int:pk>/ignore/", statements.line_ignore, name="line_ignore"),
    path("statements/lines/<int:pk>/undo/", statements.line_undo, name="line_undo"),
    path("statements/lines/<int:pk>/restore/", statements.line_restore, name="line_restore"),
    path("payments/", payments.payment_list, name="payment_list"),
    path("payments/<uuid:pk>/", payments.payment_detail, name="payment_detail"),
    path("payments/<uuid:pk>/refund/", payments.payment_refund, name="payment_refund"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/save/", settings.settings_save, name="settings_save"),
]
