"""The credit-line engine: one Polars pass equals the per-row reference; tables validated."""

from __future__ import annotations

import random

import polars as pl
import pytest

from innopoints.engine.credit import (
    DEFAULT_TABLE,
    CreditTableError,
    credit_line_row,
    credit_lines,
    explain,
    parse_table,
)


def random_frame(n: int, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    bands = ["lead", "chase", "rise", None]
    rows = []
    for i in range(n):
        rows.append(
            {
                "uscc": f"F{i}",
                "band": rng.choice(bands),
                "pct": None if rng.random() < 0.05 else rng.uniform(0, 100),
                "revenue": None if rng.random() < 0.1 else rng.uniform(0, 20000),
                "tax_paid": None if rng.random() < 0.1 else rng.uniform(0, 800),
                "debt": rng.choice([0.0, 0.0, rng.uniform(0, 500)]),
                "negative": rng.random() < 0.05,
                "stage": rng.choice(["startup", "growth", "mature"]),
                "eligibility": rng.choice(["eligible", "eligible", "unknown", "ineligible"]),
            }
        )
    return pl.DataFrame(rows)


@pytest.mark.parametrize(
    "doc",
    [
        DEFAULT_TABLE,
        {
            "grade_by": "percentile",
            "grades": [
                {"min_pct": 90, "base": "revenue", "multiple": 0.4, "uplift": 0.15},
                {"min_pct": 50, "base": "tax", "multiple": 6},
                {"min_pct": 0, "base": "fixed", "amount": 30},
            ],
            "caps": {"minus_debt": False},
            "blocks": {"negative_records": False, "stages": ["startup"]},
        },
    ],
)
def test_vectorised_lines_equal_the_row_reference(doc):
    table = parse_table(doc)
    frame = random_frame(2000)
    lines = credit_lines(frame, table, 1000.0)
    assert lines.height == frame.height
    for row, out in zip(frame.iter_rows(named=True), lines.iter_rows(named=True), strict=True):
        ref = credit_line_row(row, table, 1000.0)
        assert out["status"] == ref["status"], row
        assert out["block"] == ref["block"]
        if ref["line"] is None:
            assert out["line"] is None
        else:
            assert out["line"] == pytest.approx(ref["line"], abs=0.011)


def test_steps_of_one_firm():
    table = parse_table(DEFAULT_TABLE)
    frame = pl.DataFrame(
        {
            "uscc": ["A"],
            "band": ["lead"],
            "pct": [99.0],
            "revenue": [1000.0],
            "tax_paid": [40.0],
            "debt": [100.0],
            "negative": [False],
            "stage": ["growth"],
            "eligibility": ["eligible"],
        }
    )
    row = credit_lines(frame, table, 300.0).row(0, named=True)
    # 0.3 × 1000 = 300, +15 % = 345, capped by the product max 300, minus debt 100 = 200
    assert row["base_line"] == pytest.approx(300)
    assert row["uplifted"] == pytest.approx(345)
    assert row["capped"] == pytest.approx(300)
    assert row["line"] == pytest.approx(200)
    steps = explain(row, "en")
    assert steps[0].startswith("Points band lead")
    assert "Uplift +15%" in steps[2]
    assert "Minus existing bank debt 100.00" in steps[4]
    assert steps[-1] == "Result: suggested line 200.00 10k CNY"
    assert explain(row, "zh")[-1] == "结果：建议额度 200.00 万元"


def test_blocks_and_missing_data():
    table = parse_table(
        {**DEFAULT_TABLE, "blocks": {"negative_records": True, "stages": ["startup"]}}
    )
    frame = pl.DataFrame(
        {
            "uscc": ["N", "S", "M", "I"],
            "band": ["lead"] * 4,
            "pct": [99.0] * 4,
            "revenue": [100.0, 100.0, None, 100.0],
            "tax_paid": [1.0] * 4,
            "debt": [0.0] * 4,
            "negative": [True, False, False, False],
            "stage": ["growth", "startup", "growth", "growth"],
            "eligibility": ["eligible", "eligible", "eligible", "ineligible"],
        }
    )
    out = credit_lines(frame, table, 300.0)
    assert out["status"].to_list() == ["blocked", "blocked", "missing_data", "blocked"]
    assert out["block"].to_list() == ["negative_records", "stage", None, "ineligible"]
    assert out["line"].to_list() == [0.0, 0.0, None, 0.0]


@pytest.mark.parametrize(
    "doc,needle",
    [
        ({"grades": []}, "grades"),
        ({"grades": [{"band": "lead", "base": "salary", "multiple": 1}]}, "grades[1].base"),
        ({"grades": [{"band": "lead", "base": "revenue", "multiple": -1}]}, "grades[1].multiple"),
        ({"grade_by": "percentile", "grades": [{"base": "fixed", "amount": 5}]}, "min_pct"),
        ({"grades": [{"band": "lead", "base": "revenue", "multiple": 1, "uplift": 3}]}, "uplift"),
    ],
)
def test_bad_tables_name_the_problem(doc, needle):
    with pytest.raises(CreditTableError) as err:
        parse_table(doc)
    assert needle in str(err.value)
    assert "/" in str(err.value)  # Chinese / English
