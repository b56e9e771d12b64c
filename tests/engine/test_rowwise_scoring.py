"""The one-row scorer (`RowScorer`, used by one-firm what-ifs) gives the same bits as the
Polars layers it stands in for: shipped models and a model using every method,
aggregation, missing policy, per-stage weight, bonus and negative rule."""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import polars as pl
import pytest
from scoring_helpers import indicator, model_doc

from innopoints.engine.scoring import FittedModel, fit, load_model


def layered(fitted: FittedModel) -> FittedModel:
    """The same fitted model with the one-row scorer switched off (Polars layers only)."""
    copy = dataclasses.replace(fitted)
    copy._row_scorer = False
    return copy


def bits(value: object) -> object:
    """A value with floats as their bit patterns (0.1 + 0.2 != 0.3); every NaN is "NaN"."""
    if isinstance(value, float):
        return "NaN" if value != value else struct.pack("<d", value)
    return value


def assert_same_bits(one: pl.DataFrame, other: pl.DataFrame) -> None:
    assert one.schema == other.schema
    for name in one.columns:
        mine = [bits(v) for v in one.get_column(name).to_list()]
        theirs = [bits(v) for v in other.get_column(name).to_list()]
        assert mine == theirs, name


def compare(fitted: FittedModel, rows: pl.DataFrame, changes: list[dict | None]) -> int:
    """What-ifs of each row under each change, both ways; returns the number compared."""
    reference = layered(fitted)
    assert fitted._scorer() is not None, "the model should use the one-row scorer"
    count = 0
    for k in range(rows.height):
        row = rows.slice(k, 1)
        for change in changes:
            fast = fitted.what_if(row, change)
            slow = reference.what_if(row, change)
            assert fast.explanation is None
            assert_same_bits(fast.scores, slow.scores)
            count += 1
        assert_same_bits(fitted.apply(row).scores, reference.apply(row).scores)
    return count


@pytest.mark.parametrize("model_name", ["national-18", "extended-33"])
def test_shipped_models_one_row_equals_layers(cross_section, model_name):
    model = load_model(model_name)
    fitted = fit(cross_section, model)
    rows = cross_section.slice(0, 12)
    median = float(cross_section.get_column("rd_expense").median())
    changes = [None, {"rd_expense": median * 3}, {"rd_expense": None}, {"revenue": 0.0}]
    assert compare(fitted, rows, changes) == 48
    # unchanged, the one-row path reproduces the fitted scores exactly
    for k in range(rows.height):
        assert_same_bits(fitted.what_if(rows.slice(k, 1)).scores, fitted.scores.slice(k, 1))
    newcomer = rows.slice(0, 1).with_columns(pl.lit("91NEWFIRM000000000").alias("uscc"))
    compare(fitted, newcomer, [None, {"rd_expense": median}])


def every_rule_model(aggregation: str) -> object:
    """Two stages (by y), every method, one node per aggregation kind, bonus and negatives."""
    stages = [
        {"code": "small", "zh": "小", "en": "Small", "when": {"<": [{"field": "y"}, 50]}},
        {"code": "big", "zh": "大", "en": "Big"},
    ]
    segments = [
        {"from": None, "to": 10, "points": 0},
        {"from": 10, "to": 60, "points": 5},
        {"from": 60, "to": None, "points": 10},
    ]
    nodes = [
        {"id": "total", "name": {"zh": "总", "en": "Total"}},
        {
            "id": "a",
            "parent": "total",
            "name": {"zh": "a", "en": "a"},
            "weight": {"small": 2, "big": 1},
            "aggregation": {"method": aggregation, "p": 3, "min_share": 0.4},
        },
        {"id": "b", "parent": "total", "name": {"zh": "b", "en": "b"}, "weight": 3},
    ]
    inds = [
        indicator("pc", {"kind": "percentile"}, parent="a", field="x", weight=3),
        indicator("rk", {"kind": "rank"}, parent="a", field="z", missing="drop"),
        indicator("mm", {"kind": "minmax"}, parent="a", field="w", direction=-1),
        indicator(
            "zs", {"kind": "zscore", "clip": 2}, parent="a", field="v", missing="impute_mean"
        ),
        indicator(
            "rf",
            {"kind": "reference", "reference": {"small": 40, "big": 80}},
            parent="b",
            field="x",
            weight={"small": 1, "big": 2},
        ),
        indicator(
            "rn", {"kind": "reference", "reference": 30}, parent="b", field="z", direction=-1
        ),
        indicator("sg", {"kind": "segments", "segments": segments}, parent="b", field="w"),
        indicator("gp", {"kind": "goalposts", "worst": 5, "best": 95}, parent="b", field="v"),
        indicator(
            "od",
            {"kind": "ordinal", "map": {"none": 0, "provincial": 0.7, "national": 1}},
            parent="b",
            field="rd_institution_level",
        ),
    ]
    bonus = [
        {"id": "ht", "name": {"zh": "高企", "en": "HT"}, "field": "has_high_tech", "points": 10},
        {
            "id": "pu",
            "name": {"zh": "件", "en": "unit"},
            "field": "v",
            "points": {"small": 0.5, "big": 0.25},
            "per_unit": True,
            "max": 7,
        },
    ]
    negative = [
        {"id": "ab", "name": {"zh": "异", "en": "ab"}, "field": "neg_abnormal_operation",
         "action": "deduct", "points": 20},
        {"id": "mi", "name": {"zh": "事", "en": "mi"}, "field": "neg_major_incident",
         "action": "cap", "cap": 30},
        {"id": "sd", "name": {"zh": "失", "en": "sd"}, "field": "neg_serious_dishonesty",
         "action": "zero"},
    ]  # fmt: skip
    doc = model_doc(
        inds,
        nodes=nodes,
        fields=("x", "y", "z", "w", "v"),
        stages=stages,
        bonus=bonus,
        negative=negative,
    )
    return load_model(doc)


def every_rule_frame(n: int = 60) -> pl.DataFrame:
    rng = np.random.default_rng(11)

    def values(scale: float) -> list[float | None]:
        data = np.round(rng.lognormal(np.log(scale), 1.0, n), 2)
        return [None if rng.random() < 0.2 else float(v) for v in data]

    levels = ["none", "provincial", "national", None]
    return pl.DataFrame(
        {
            "uscc": [f"f{k:03d}" for k in range(n)],
            "x": values(40),
            "y": [float(v) for v in rng.integers(0, 100, n)],
            "z": values(30),
            "w": values(30),
            "v": values(40),
            "rd_institution_level": [levels[k % 4] for k in range(n)],
            "has_high_tech": [k % 3 == 0 for k in range(n)],
            "neg_abnormal_operation": [k % 7 == 0 for k in range(n)],
            "neg_major_incident": [k % 11 == 0 for k in range(n)],
            "neg_serious_dishonesty": [k % 13 == 0 for k in range(n)],
        },
        schema_overrides={k: pl.Float64 for k in ("x", "z", "w", "v")},
    )


@pytest.mark.parametrize("aggregation", ["arithmetic", "geometric", "harmonic", "power"])
def test_every_method_and_aggregation_one_row_equals_layers(aggregation):
    frame = every_rule_frame()
    fitted = fit(frame, every_rule_model(aggregation))
    changes = [None, {"x": 55.5}, {"x": None, "z": 0.0}, {"w": 1e6, "v": 0.0}, {"y": 99.0}]
    assert compare(fitted, frame, changes) == 300


@pytest.mark.parametrize("exponent", [0.5, 2.0, 3.0, 4.0, 9.0, 10.0, 1 / 3, 2.5, -1.0])
def test_scalar_pow_log_exp_match_polars(exponent):
    from innopoints.engine.scoring.rowwise import _exp, _log, _pow

    rng = np.random.default_rng(5)
    values = [*rng.uniform(0.0, 2.0, 300).tolist(), 0.0, -0.5, 1e300, float("inf")]
    frame = pl.DataFrame({"v": values})
    out = frame.select(
        pl.col("v").pow(exponent).alias("pow"),
        pl.col("v").log().alias("log"),
        pl.col("v").exp().alias("exp"),
    )
    assert [bits(v) for v in out.get_column("pow").to_list()] == [
        bits(_pow(v, exponent)) for v in values
    ]
    assert [bits(v) for v in out.get_column("log").to_list()] == [bits(_log(v)) for v in values]
    assert [bits(v) for v in out.get_column("exp").to_list()] == [bits(_exp(v)) for v in values]
