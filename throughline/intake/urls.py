from django.urls import path

from throughline.intake.views import duplicates, inbox, leads

app_name = "intake"

urlpatterns = [
    path("", inbox.inbox, name="inbox"),
    path("new/", leads.lead_create, name="lead_create"),
    path("referrers/", leads.contact_suggestions, name="contact_suggestions"),
    path("duplicates/", duplicates.duplicate_list, name="duplicate_list"),
    path("duplicates/<uuid:pk>/", duplicates.duplicate_review, name="duplicate_review"),
    path("duplicates/<uuid:pk>/decide/", duplicates.duplicate_decide, name="duplicate_decide"),
    path("<uuid:pk>/", leads.lead_detail, name="lead_detail"),
    path("<uuid:pk>/call/", leads.lead_log_call, name="lead_log_call"),
    path("<uuid:pk>/email/", leads.lead_send_email, name="lead_send_email"),
    path("<uuid:pk>/reject/", leads.lead_reject, name="lead_reject"),
]
