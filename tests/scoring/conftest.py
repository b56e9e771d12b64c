"""Scoring test fixtures: forget cached frames between tests (ids repeat after rollbacks)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_caches():
    from innopoints.enterprises import panel
    from innopoints.scoring.results import clear_explanation_cache

    panel._CACHE.clear()
    clear_explanation_cache()
    yield
    panel._CACHE.clear()
    clear_explanation_cache()
