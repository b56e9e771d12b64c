"""Portal pages, mounted at /portal/."""

from django.urls import path

from innopoints.portal import views

urlpatterns = [
    path("", views.dashboard_page, name="portal-dashboard"),
    path("rankings/", views.rankings_page, name="portal-rankings"),
    path("publish/", views.publish, name="portal-publish"),
    path("publications/", views.publications_page, name="portal-publications"),
    path(
        "publications/<int:publication_id>/",
        views.publication_detail,
        name="portal-publication",
    ),
    path(
        "publications/<int:publication_id>/object/",
        views.file_objection,
        name="portal-file-objection",
    ),
    path("my-ranking/", views.my_ranking, name="portal-my-ranking"),
    path("objections/", views.objections_page, name="portal-objections"),
    path("objections/<int:objection_id>/", views.objection_detail, name="portal-objection"),
    path(
        "objections/<int:objection_id>/resolve/",
        views.resolve_objection,
        name="portal-resolve-objection",
    ),
    path(
        "attachments/<int:attachment_id>/",
        views.attachment_download,
        name="portal-attachment",
    ),
]
