"""Portal test fixtures: fresh panel caches, private files in a temporary directory."""

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


@pytest.fixture(autouse=True)
def private_files(settings, tmp_path):
    """Attachments go to a per-test directory."""
    settings.PRIVATE_FILES_DIR = tmp_path / "private"
    return settings.PRIVATE_FILES_DIR
