"""Pools test fixtures: forget cached frames and criteria between tests (ids repeat)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_caches():
    from innopoints.enterprises import panel
    from innopoints.pools import actions

    panel._CACHE.clear()
    actions._CRITERIA.clear()
    yield
    panel._CACHE.clear()
    actions._CRITERIA.clear()
