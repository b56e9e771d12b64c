"""Policies test fixtures: forget cached frames and criteria between tests (ids repeat)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def fresh_caches():
    from innopoints.enterprises import panel
    from innopoints.policies import inputs
    from innopoints.pools import actions

    for cache in (panel._CACHE, inputs._CRITERIA, inputs._COMPILED, inputs._INPUTS,
                  inputs._SCORES, actions._CRITERIA):  # fmt: skip
        cache.clear()
    yield
    for cache in (panel._CACHE, inputs._CRITERIA, inputs._COMPILED, inputs._INPUTS,
                  inputs._SCORES, actions._CRITERIA):  # fmt: skip
        cache.clear()
