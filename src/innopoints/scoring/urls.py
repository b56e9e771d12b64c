"""Scoring pages (filled in by the scoring app)."""

urlpatterns: list = []
