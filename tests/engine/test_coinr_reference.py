"""Exactness: the engine reproduces COINr's ASEM index stage by stage (every cell to 1e-9)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from innopoints.engine.scoring import load_model, score, stages

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "coinr-asem"
TOLERANCE = 1e-9

pytestmark = pytest.mark.skipif(
    not (REFERENCE / "raw.csv").is_file(),
    reason=f"COINr reference data not found at {REFERENCE} (it lives outside the repository)",
)


def _read(name: str) -> pl.DataFrame:
    frame = pl.read_csv(REFERENCE / f"{name}.csv", null_values=["NA"], infer_schema_length=None)
    return frame.sort("UnitCode")


@pytest.fixture(scope="module")
def model():
    return load_model("coinr-asem")


@pytest.fixture(scope="module")
def input_frame() -> pl.DataFrame:
    denominators = _read("denominators").select("UnitCode", pl.selectors.starts_with("Den_"))
    return _read("raw").join(denominators, on="UnitCode", how="left")


@pytest.fixture(scope="module")
def engine_stages(model, input_frame):
    return stages(input_frame, model, key=("UnitCode",))


def _assert_cells_equal(
    got: pl.DataFrame, expected: pl.DataFrame, columns: list[str], factor: float
) -> None:
    assert got.get_column("UnitCode").to_list() == expected.get_column("UnitCode").to_list()
    for column in columns:
        ours = got.get_column(column).cast(pl.Float64).to_numpy() * factor
        theirs = expected.get_column(column).cast(pl.Float64).to_numpy()
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), f"{column}: missing cells differ"
        difference = np.abs(np.nan_to_num(ours) - np.nan_to_num(theirs))
        assert difference.max() <= TOLERANCE, f"{column}: max difference {difference.max()}"


@pytest.mark.parametrize(
    ("stage", "reference_file", "factor"),
    [
        ("denominated", "denominated", 1.0),
        ("imputed", "imputed", 1.0),
        ("treated", "treated", 1.0),
        ("normalised", "normalised", 100.0),  # engine scores are in [0, 1]; model scale 100
    ],
)
def test_indicator_stage_matches_every_cell(engine_stages, model, stage, reference_file, factor):
    expected = _read(reference_file)
    columns = [i.id for i in model.doc.indicators]
    assert len(columns) == 49
    _assert_cells_equal(engine_stages[stage].sort("UnitCode"), expected, columns, factor)


def test_aggregates_match_every_cell(engine_stages, model):
    expected = _read("aggregated")
    nodes = [n.id for n in model.doc.nodes]
    assert sorted(nodes) == sorted(
        ["Index", "Conn", "Sust", "Physical", "ConEcFin", "Political", "Instit", "P2P"]
        + ["Environ", "Social", "SusEcFin"]
    )
    _assert_cells_equal(engine_stages["aggregated"].sort("UnitCode"), expected, nodes, 100.0)
    indicators = [i.id for i in model.doc.indicators]
    _assert_cells_equal(engine_stages["normalised"].sort("UnitCode"), expected, indicators, 100.0)


def test_treatment_changes_the_same_points(model, input_frame):
    summary = pl.read_csv(REFERENCE / "treat_summary.csv")
    fits = score(input_frame, model, key=("UnitCode",)).treatments
    for row in summary.iter_rows(named=True):
        fit = fits[row["IndCode"]]
        assert (fit.low_count, fit.high_count) == (row["Low"], row["High"]), row["IndCode"]
        assert fit.kind == ("none" if row["Treatment"] == "None" else "winsorise")


def test_total_and_ranks_match_exactly(model, input_frame):
    expected = _read("aggregated").select(
        "UnitCode",
        pl.col("Index"),
        pl.col("Index").rank("min", descending=True).cast(pl.Int64).alias("rank"),
    )
    result = score(input_frame, model, key=("UnitCode",)).scores.sort("UnitCode")
    assert result.get_column("rank_overall").to_list() == expected.get_column("rank").to_list()
    difference = (result.get_column("total") - expected.get_column("Index")).abs().max()
    assert difference <= TOLERANCE
