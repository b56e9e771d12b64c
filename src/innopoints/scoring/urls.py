"""Scoring pages, mounted at /scoring/."""

from django.urls import path

from innopoints.scoring import views

urlpatterns = [
    path("", views.runs_page, name="scoring-runs"),
    path("runs/compare/", views.run_compare, name="scoring-compare"),
    path("runs/<int:run_id>/", views.run_detail, name="scoring-run"),
    path("runs/<int:run_id>/firms/<str:uscc>/", views.firm_explanation, name="scoring-firm"),
    path("models/", views.models_page, name="scoring-models"),
    path("models/diff/", views.model_diff, name="scoring-model-diff"),
    path("models/<int:version_id>/", views.model_detail, name="scoring-model"),
    path("models/<int:version_id>/activate/", views.model_activate, name="scoring-activate"),
    path("external/", views.external_page, name="scoring-external"),
]
