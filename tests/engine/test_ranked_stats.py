"""The numpy within-group ranks must equal Polars' `rank().over()` and `count().over()`
bit for bit, including values that differ only in their last bits (the integer sort keys
lose those bits and must fall back to an exact order), signed zeros, infinities and nulls."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from innopoints.engine.scoring.pipeline import _argsort_floats, _group_segments, _ranked_stat


def _expected(values: np.ndarray, groups: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    frame = pl.DataFrame({"g": groups, "v": pl.Series(values, nan_to_null=True)})
    rank = (
        pl.col("v").rank("average") - 0.5 if name == "below_half" else pl.col("v").rank("min") - 1
    )
    out = frame.select(
        rank.over("g").cast(pl.Float64).alias("stat"), pl.col("v").count().over("g").alias("n")
    )
    return out.to_series(0).fill_null(np.nan).to_numpy(), out.to_series(1).to_numpy()


def _check(values: np.ndarray, groups: np.ndarray) -> None:
    frame = pl.DataFrame({"g": groups})
    seg = _group_segments(frame, ["g"])
    for name in ("below_half", "below"):
        stat, counts = _ranked_stat(values, seg.order, seg.bounds, name)
        want_stat, want_count = _expected(values, groups, name)
        np.testing.assert_array_equal(stat, want_stat)
        np.testing.assert_array_equal(counts[seg.index], want_count)


def test_values_closer_than_the_key_bits_keep_their_exact_order() -> None:
    rng = np.random.default_rng(7)
    n = 5_000
    # 1 + k·ε: every key is equal once the low bits hold the position
    values = 1.0 + rng.integers(0, 50, n) * np.finfo(float).eps
    values[rng.random(n) < 0.1] = np.nan
    _check(values, rng.integers(0, 3, n))
    positions, ordered = _argsort_floats(np.array([1.0 + 2e-16, 1.0, 1.0 + 4e-16, 1.0]))
    assert ordered.tolist() == sorted(ordered.tolist())
    assert positions[0] in (1, 3) and positions[-1] == 2


def test_signed_zeros_infinities_and_empty_groups() -> None:
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5.0, -5.0, -0.0, np.nan, np.nan])
    groups = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2])  # group 2 holds only nulls
    _check(values, groups)


def test_one_large_group_of_continuous_values() -> None:
    rng = np.random.default_rng(3)
    values = rng.random(200_000) * 100  # neighbours closer than 2^-30 relative exist
    _check(values, np.zeros(values.size, dtype=np.int64))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.one_of(
                st.none(),
                st.floats(allow_nan=False, width=64),
                st.sampled_from([0.0, -0.0, 1.0, 1.0 + 2.220446049250313e-16]),
            ),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_matches_polars_on_any_values(rows: list[tuple[int, float | None]]) -> None:
    groups = np.array([g for g, _ in rows])
    values = np.array([np.nan if v is None else v for _, v in rows], dtype=np.float64)
    _check(values, groups)


@pytest.mark.parametrize("size", [1, 2, 3, 1 << 10, (1 << 10) + 1])
def test_sizes_around_the_position_bits(size: int) -> None:
    rng = np.random.default_rng(size)
    values = np.round(rng.normal(size=size), 1)
    positions, ordered = _argsort_floats(values)
    np.testing.assert_array_equal(ordered, np.sort(values))
    np.testing.assert_array_equal(values[positions], ordered)
