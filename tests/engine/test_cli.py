"""The scoring CLI: score, model validate/show/diff, clear errors on bad input."""

from __future__ import annotations

import copy

import polars as pl
import pytest
import typer
import yaml
from typer.testing import CliRunner

from innopoints.cli_scoring import register
from innopoints.engine.scoring.model import read_document

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    application = typer.Typer()

    @application.callback()
    def main() -> None:
        """innopoints (test harness)."""

    register(application)
    return application


def test_score_writes_scores_and_explanation(app, panel, tmp_path):
    data = tmp_path / "panel.csv"
    panel.write_csv(data)
    out = tmp_path / "scores.csv"
    result = runner.invoke(
        app,
        ["score", "--data", str(data), "--model", "national-18", "--out", str(out), "--explain"],
    )
    assert result.exit_code == 0, result.output
    scores = pl.read_csv(out)
    assert scores.height == panel.filter(pl.col("year") == 2023).height
    assert {"total", "band", "rank_stage", "run_hash", "model_version"} <= set(scores.columns)
    explanation = pl.read_csv(tmp_path / "scores.explain.csv")
    assert explanation.get_column("item").n_unique() > 18
    again = tmp_path / "again.csv"
    runner.invoke(
        app, ["score", "--data", str(data), "--model", "national-18", "--out", str(again)]
    )
    assert again.read_bytes() == out.read_bytes()  # deterministic bytes


def test_score_parquet_and_year(app, panel, tmp_path):
    data = tmp_path / "panel.parquet"
    panel.write_parquet(data)
    out = tmp_path / "scores.parquet"
    result = runner.invoke(
        app,
        [
            "score",
            "--data",
            str(data),
            "--model",
            "extended-33",
            "--out",
            str(out),
            "--year",
            "2022",
        ],
    )
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).get_column("year").unique().to_list() == [2022]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "missing.csv", "--model", "national-18"], "data file not found"),
        (["--model", "no-such-model"], "no model 'no-such-model'"),
        (["--model", "national-18", "--year", "1999"], "year 1999 not in the data"),
    ],
)
def test_score_bad_input_exits_non_zero(app, panel, tmp_path, args, message):
    data = tmp_path / "panel.csv"
    panel.write_csv(data)
    full = ["score", "--data", str(data), "--out", str(tmp_path / "o.csv"), *args]
    result = runner.invoke(app, full)
    assert result.exit_code != 0
    assert message in result.output


def test_score_reports_missing_columns(app, panel, tmp_path):
    data = tmp_path / "panel.csv"
    panel.drop("tax_paid").write_csv(data)
    result = runner.invoke(
        app,
        ["score", "--data", str(data), "--model", "national-18", "--out", str(tmp_path / "o.csv")],
    )
    assert result.exit_code == 2 and "tax_paid" in result.output


def test_model_validate_show_diff(app, tmp_path):
    ok = runner.invoke(app, ["model", "validate", "national-18"])
    assert ok.exit_code == 0 and "valid: national-18" in ok.output
    raw = copy.deepcopy(read_document("national-18"))
    raw["indicators"][0]["field"] = "nonsense"
    raw["indicators"][1]["weight"] = {"startup": 1}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["model", "validate", str(bad)])
    assert result.exit_code == 1
    assert "indicators.0.field: unknown field 'nonsense'" in result.output
    assert "indicators.1.weight" in result.output
    shown = runner.invoke(app, ["model", "show", "extended-33"])
    assert shown.exit_code == 0 and "创新指标" in shown.output and "bonus" in shown.output
    raw = copy.deepcopy(read_document("national-18"))
    raw["version"] = "2"
    changed = tmp_path / "v2.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    diff = runner.invoke(app, ["model", "diff", "national-18", str(changed)])
    assert diff.exit_code == 0 and 'version: "2024.1-default" → "2"' in diff.output
