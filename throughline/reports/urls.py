from django.urls import path

from throughline.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("aging/<str:bucket>/", views.aging_bucket, name="aging_bucket"),
    path("export/<str:report>.csv", views.export, name="export"),
]
