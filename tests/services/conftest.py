"""Services test fixtures: forget cached frames and matchers between tests (ids repeat)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_caches():
    from innopoints.enterprises import panel
    from innopoints.services import matchindex

    panel._CACHE.clear()
    matchindex._CACHE.clear()
    yield
    panel._CACHE.clear()
    matchindex._CACHE.clear()
