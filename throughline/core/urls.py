from django.urls import path

from throughline.core.views import home

urlpatterns = [
    path("", home.home, name="home"),
]
