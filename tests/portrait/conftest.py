"""Portrait test fixtures: a scored zone of 40 firms, fresh caches per test."""

from __future__ import annotations

import pytest

from tests.conftest import load
from tests.scoring.helpers import TINY_MODEL, scored_zone

Z1_MORE = [n for n in range(4, 42) if n != 9]  # firm 9 is in the other zone


@pytest.fixture(autouse=True)
def fresh_caches():
    from innopoints.enterprises import panel
    from innopoints.portrait.results import clear_cache
    from innopoints.scoring.results import clear_explanation_cache

    for clear in (panel._CACHE.clear, clear_cache, clear_explanation_cache):
        clear()
    yield
    for clear in (panel._CACHE.clear, clear_cache, clear_explanation_cache):
        clear()


@pytest.fixture
def run(users, zone):
    """A finished run of 2024 over 40 firms of Z1 with the tiny test model."""
    load(zone, Z1_MORE)
    zone.refresh_from_db()
    run = scored_zone(zone, users["admin"], 2024, TINY_MODEL)
    assert run.status == "done", run.error
    return run
