"""Property tests (Hypothesis) of the scoring engine."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_helpers import frame_of, indicator, model_doc, single

from innopoints.engine.scoring import fit, load_model, score

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
value_lists = st.lists(st.one_of(values, st.none()), min_size=3, max_size=12)

METHODS = [
    {"kind": "percentile"},
    {"kind": "rank"},
    {"kind": "minmax"},
    {"kind": "zscore"},
    {"kind": "reference", "reference": 1000},
    {"kind": "goalposts", "worst": 0, "best": 5000},
    {
        "kind": "segments",
        "segments": [
            {"from": None, "to": 10, "points": 0},
            {"from": 10, "to": 1000, "points": 5},
            {"from": 1000, "to": None, "points": 10},
        ],
    },
]


def three_indicator_model(method: dict, aggregation: str = "arithmetic"):
    nodes = [
        {"id": "total", "name": {"zh": "t", "en": "t"}},
        {
            "id": "a",
            "parent": "total",
            "name": {"zh": "a", "en": "a"},
            "weight": 2,
            "aggregation": {"method": aggregation, "p": 3},
        },
        {"id": "b", "parent": "total", "name": {"zh": "b", "en": "b"}},
    ]
    inds = [
        indicator("x", method, parent="a", weight=3),
        indicator("y", method, parent="a", missing="drop"),
        indicator("z", method, parent="b", direction=-1),
    ]
    bonus = [
        {"id": "ht", "name": {"zh": "高企", "en": "HT"}, "field": "has_high_tech", "points": 15}
    ]
    return load_model(model_doc(inds, nodes=nodes, bonus=bonus))


@FAST
@given(
    xs=value_lists,
    method=st.sampled_from(METHODS),
    aggregation=st.sampled_from(["arithmetic", "geometric", "harmonic", "power"]),
    firm=st.integers(0, 11),
    raise_by=st.floats(min_value=0, max_value=1e6),
)
def test_raising_a_positive_indicator_never_lowers_the_total(
    xs, method, aggregation, firm, raise_by
):
    model = three_indicator_model(method, aggregation)
    n = len(xs)
    firm %= n
    frame = frame_of(
        x=xs,
        y=[float(k) for k in range(n)],
        z=[float(n - k) for k in range(n)],
        has_high_tech=[k % 2 == 0 for k in range(n)],
    )
    fitted = fit(frame, model)
    before = fitted.scores.get_column("total").to_list()[firm]
    old = xs[firm] if xs[firm] is not None else 0.0
    after = (
        fitted.what_if(frame.slice(firm, 1), {"x": old + raise_by})
        .scores.get_column("total")
        .item()
    )
    assert after >= before - 1e-9


@FAST
@given(xs=value_lists, method=st.sampled_from(METHODS), scale=st.sampled_from([100, 1000]))
def test_totals_stay_within_the_scale(xs, method, scale):
    doc = model_doc([indicator("x", method), indicator("y", method, weight=2)], scale=scale)
    doc["bonus"] = [
        {"id": "ht", "name": {"zh": "高企", "en": "HT"}, "field": "has_high_tech", "points": scale}
    ]
    model = load_model(doc)
    n = len(xs)
    frame = frame_of(x=xs, y=list(reversed(xs)), has_high_tech=[k % 3 == 0 for k in range(n)])
    totals = score(frame, model).scores.get_column("total")
    assert totals.is_between(0, scale).all()


@FAST
@given(xs=value_lists, method=st.sampled_from(METHODS), seed=st.integers(0, 1000))
def test_row_order_does_not_change_results(xs, method, seed):
    model = three_indicator_model(method)
    n = len(xs)
    frame = frame_of(
        x=xs,
        y=[float(k % 4) for k in range(n)],
        z=[float(k * k) for k in range(n)],
        has_high_tech=[k % 2 == 1 for k in range(n)],
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    first, second = score(frame, model), score(shuffled, model)
    assert first.scores.equals(second.scores) and first.run_hash == second.run_hash


def _expected(method: dict, xs: list[float]) -> list[float]:
    """The method computed directly in Python (what a one-indicator model must give)."""
    n = len(xs)
    kind = method["kind"]
    if kind == "percentile":
        return [(sum(v < x for v in xs) + 0.5 * sum(v == x for v in xs)) / n for x in xs]
    if kind == "rank":
        return [sum(v < x for v in xs) / (n - 1) for x in xs]
    if kind == "minmax":
        lo, hi = min(xs), max(xs)
        return [(x - lo) / (hi - lo) if hi > lo else 0.5 for x in xs]
    if kind == "reference":
        return [min(x / method["reference"], 1.0) for x in xs]
    if kind == "goalposts":
        return [min(max(x / method["best"], 0.0), 1.0) for x in xs]
    raise AssertionError(kind)


@FAST
@given(
    xs=st.lists(
        st.floats(min_value=0, max_value=1e4, allow_nan=False).map(lambda v: round(v, 1)),
        min_size=2,
        max_size=15,
    ),
    method=st.sampled_from(
        [
            m
            for m in METHODS
            if m["kind"] in {"percentile", "rank", "minmax", "reference", "goalposts"}
        ]
    ),
)
def test_single_indicator_model_reduces_to_its_method(xs, method):
    model = single(method)
    totals = score(frame_of(x=xs), model).scores.get_column("total").to_list()
    assert totals == pytest.approx([100 * e for e in _expected(method, xs)], abs=1e-9)


def test_single_indicator_zscore_reduces_to_its_formula():
    xs = [1.0, 4.0, 6.0, 9.0]
    series = pl.Series(xs)
    expected = [min(max(0.5 + (x - series.mean()) / (2 * 3 * series.std()), 0), 1) for x in xs]
    totals = score(frame_of(x=xs), single({"kind": "zscore"})).scores.get_column("total").to_list()
    assert totals == pytest.approx([100 * e for e in expected])
