"""`innopoints credit`: a grade table over a points file, no database."""

from __future__ import annotations

import polars as pl
from typer.testing import CliRunner

from innopoints.cli import app


def files(tmp_path):
    panel = pl.DataFrame(
        {
            "uscc": ["A", "B", "C"],
            "year": [2025, 2025, 2025],
            "revenue": [1000.0, 2000.0, 300.0],
            "tax_paid": [40.0, 80.0, 10.0],
            "neg_serious_dishonesty": [False, True, False],
        }
    )
    scores = pl.DataFrame(
        {
            "uscc": ["A", "B", "C"],
            "year": [2025, 2025, 2025],
            "total": [90.0, 80.0, 40.0],
            "band": ["lead", "chase", None],
            "pct_zone": [95.0, 85.0, 20.0],
            "stage": ["growth", "growth", "startup"],
        }
    )
    panel.write_parquet(tmp_path / "panel.parquet")
    scores.write_csv(tmp_path / "points.csv")
    return tmp_path / "panel.parquet", tmp_path / "points.csv"


def test_credit_lines_for_a_points_file(tmp_path):
    data, points = files(tmp_path)
    out = tmp_path / "lines.csv"
    result = CliRunner().invoke(
        app,
        [
            "credit",
            "--data",
            str(data),
            "--scores",
            str(points),
            "--out",
            str(out),
            "--product-max",
            "300",
            "--explain",
            "A",
            "--lang",
            "en",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = pl.read_csv(out)
    assert lines.filter(pl.col("uscc") == "A")["line"][0] == 300.0  # 0.3 × 1000 × 1.15, capped
    assert lines.filter(pl.col("uscc") == "B")["status"][0] == "blocked"
    assert "Result: suggested line 300.00" in result.output


def test_a_bad_table_fails_cleanly(tmp_path):
    data, points = files(tmp_path)
    table = tmp_path / "table.yaml"
    table.write_text("grades:\n  - {band: lead, base: salary, multiple: 1}\n", encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "credit",
            "--data",
            str(data),
            "--scores",
            str(points),
            "--out",
            str(tmp_path / "x.csv"),
            "--table",
            str(table),
        ],
    )
    assert result.exit_code == 2
    assert "grades[1].base" in result.output
