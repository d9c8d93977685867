from django.urls import path

from throughline.integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.health_page, name="health"),
    path("check/", views.health_refresh, name="health_refresh"),
    path("webhooks/", views.endpoint_list, name="endpoint_list"),
    path("webhooks/new/", views.endpoint_create, name="endpoint_create"),
    path("webhooks/<uuid:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path("webhooks/<uuid:pk>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("webhooks/<uuid:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("webhooks/<uuid:pk>/rotate-secret/", views.endpoint_rotate, name="endpoint_rotate"),
    path("webhooks/<uuid:pk>/disable/", views.endpoint_disable, name="endpoint_disable"),
    path("webhooks/<uuid:pk>/enable/", views.endpoint_enable, name="endpoint_enable"),
    path("deliveries/<uuid:pk>/", views.delivery_detail, name="delivery_detail"),
    path("deliveries/<uuid:pk>/replay/", views.delivery_replay, name="delivery_replay"),
]
