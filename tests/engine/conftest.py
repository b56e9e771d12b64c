"""Shared fixtures and builders for the scoring engine tests."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from scoring_synthetic import synthetic_panel  # noqa: E402

from innopoints.engine.scoring import load_model  # noqa: E402
from innopoints.standard.derived import derive  # noqa: E402


@pytest.fixture(scope="session")
def panel() -> pl.DataFrame:
    return synthetic_panel(80)


@pytest.fixture(scope="session")
def cross_section(panel) -> pl.DataFrame:
    return derive(panel).collect().filter(pl.col("year") == 2023)


@pytest.fixture(scope="session")
def national():
    return load_model("national-18")


@pytest.fixture(scope="session")
def extended():
    return load_model("extended-33")
