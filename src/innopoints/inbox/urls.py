"""Inbox pages, mounted at /inbox/."""

from django.urls import path

from innopoints.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:note_id>/open/", views.open_note, name="inbox-open"),
    path("read-all/", views.read_all, name="inbox-read-all"),
]
