from django.urls import path

from throughline.messaging import views

app_name = "messaging"
urlpatterns = [
    path("<uuid:token>", views.unsubscribe_view, name="unsubscribe"),
]
