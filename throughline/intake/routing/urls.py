"""Staff pages of routing, mounted under ``intake/routing/``."""

from django.urls import path

from throughline.intake.routing import views

app_name = "intake_routing"

urlpatterns = [
    path("", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<uuid:pk>/", views.rule_edit, name="rule_edit"),
    path("rules/<uuid:pk>/move/", views.rule_move, name="rule_move"),
    path("rules/<uuid:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("teams/new/", views.team_edit, name="team_create"),
    path("teams/<uuid:pk>/", views.team_edit, name="team_edit"),
    path("leads/<uuid:pk>/", views.lead_history, name="lead_history"),
    path("leads/<uuid:pk>/assign/", views.lead_reassign, name="lead_reassign"),
    path("leads/<uuid:pk>/reroute/", views.lead_reroute, name="lead_reroute"),
]
