"""Zone settings pages."""

from django.urls import path

from innopoints.zones import views

urlpatterns = [
    path("", views.zone_home, name="zone-home"),
    path("<slug:code>/", views.zone_settings, name="zone-settings"),
]
