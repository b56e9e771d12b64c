"""Scoring API endpoints (filled in by the scoring app)."""

from ninja import Router

router = Router(tags=["scoring"])
