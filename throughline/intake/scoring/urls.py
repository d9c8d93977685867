"""Qualification and scoring pages, mounted at ``leads/scoring/`` by ``throughline/urls.py``."""

from django.urls import path

from throughline.intake.scoring import views

app_name = "intake_scoring"

urlpatterns = [
    path("", views.scoring_settings, name="settings"),
    path("rubric/", views.rubric_save, name="rubric_save"),
    path("criteria/", views.criterion_add, name="criterion_add"),
    path("criteria/<int:pk>/delete/", views.criterion_delete, name="criterion_delete"),
    path("config/", views.config_save, name="config_save"),
    path("rules/", views.rule_add, name="rule_add"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="rule_delete"),
    path("model/train/", views.train_now, name="train_now"),
    path("booking-link/", views.booking_link_save, name="booking_link_save"),
    path("lead/<uuid:pk>/qualify/", views.lead_qualify, name="lead_qualify"),
    path("lead/<uuid:pk>/reapply/", views.lead_reapply, name="lead_reapply"),
]
