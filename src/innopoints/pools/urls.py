"""Pool pages, mounted at /pools/."""

from django.urls import path

from innopoints.pools import views

urlpatterns = [
    path("", views.overview, name="pools-home"),
    path("new/", views.pool_new, name="pools-new"),
    path("<int:pool_id>/", views.pool_detail, name="pools-pool"),
    path("<int:pool_id>/movements/", views.pool_movements, name="pools-movements"),
    path("<int:pool_id>/overrides/", views.pool_overrides, name="pools-overrides"),
    path(
        "<int:pool_id>/overrides/<int:override_id>/delete/",
        views.override_delete,
        name="pools-override-delete",
    ),
    path("<int:pool_id>/settings/", views.pool_settings, name="pools-settings"),
]
