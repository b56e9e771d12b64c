"""Account pages: the API tokens of the signed-in user."""

from django.urls import path

from innopoints.accounts import views

urlpatterns = [
    path("tokens/", views.api_tokens, name="api-tokens"),
]
