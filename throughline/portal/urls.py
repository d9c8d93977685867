"""The client portal, included at ``/c/`` (see views' docstring)."""

from django.urls import path

from throughline.portal import views

app_name = "portal"

urlpatterns = [
    path("link", views.new_link, name="new_link"),
    path("link/project/<uuid:project>", views.staff_send_link, name="staff_send_link"),
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/projects/<uuid:pk>", views.project_page, name="project"),
    path("<str:token>/projects/<uuid:pk>/comment", views.comment, name="comment"),
    path("<str:token>/projects/<uuid:pk>/onboarding", views.questionnaire, name="questionnaire"),
    path("<str:token>/projects/<uuid:pk>/feedback", views.feedback, name="feedback"),
    path("<str:token>/projects/<uuid:pk>/closeout", views.closeout_page, name="closeout"),
    path("<str:token>/milestones/<uuid:pk>", views.milestone_page, name="milestone"),
    path("<str:token>/files/<uuid:pk>", views.file_download, name="file"),
    path("<str:token>/proposals/<uuid:pk>", views.open_proposal, name="proposal"),
    path("<str:token>/invoices/<uuid:pk>", views.open_invoice, name="invoice"),
    path("<str:token>/contracts/<uuid:pk>.pdf", views.contract_pdf, name="contract_pdf"),
]
