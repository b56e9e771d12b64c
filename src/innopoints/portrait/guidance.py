"""Guidance (评价引导) for one firm, from the scoring engine's fitted model (no Django).

- `next_band_target`: the points the firm needs for the next (stricter) band of its
  model, found from the other firms' totals in its band group.
- `suggestions`: candidate single changes (raise one indicator to the peer value that
  lifts it to the next segment, level, reference value or percentile step), all
  re-scored with the peers fixed in one call (`what_if_many`), ranked by points gained
  per unit of effort.
- `missing_data`: the indicators missing for the firm and the points it could gain if it
  reported the peer median.

Effort is the share of the target value still to be added, (target − current) ÷
max(|current|, |target|), in (0, 1]; for ordinal levels it is the number of levels raised
÷ the number of levels. It is a comparable scale across units, not a cost in money.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from innopoints.engine.rules.compiler import RATIO_PARTS
from innopoints.engine.scoring import FittedModel, IndicatorModel

PERCENTILE_STEPS = (10.0, 25.0)  # raise a relative indicator by this many percentile points
PEER_LEVELS = (50.0, 75.0, 90.0)  # and to these peer percentiles
MAX_SUGGESTIONS = 5


@dataclass(frozen=True)
class BandTarget:
    """The next band and the total that reaches it (None when there is no stricter band)."""

    code: str | None
    top: float | None
    needed_total: float | None
    points_needed: float | None
    reachable: bool


@dataclass(frozen=True)
class Change:
    """One candidate change of one indicator's input field."""

    indicator: str
    field: str
    current: float | None  # the indicator value (after the denominator)
    target: float  # the indicator value aimed at
    field_current: Any
    field_value: Any  # the value written to `field` in the what-if
    effort: float
    basis: str  # why this target: segment, level, reference, p50, p+10, ...


@dataclass(frozen=True)
class Suggestion:
    """A scored change: points gained and new total with the peers fixed."""

    change: Change
    gain: float
    new_total: float
    new_rank: int | None
    new_band: str | None
    per_effort: float
    reaches_band: bool


# ---------------------------------------------------------------------------- what-if batch


def what_if_many(
    fitted: FittedModel, row: pl.DataFrame, changes: Sequence[dict[str, Any]]
) -> pl.DataFrame:
    """Re-score one firm under several alternative changes at once, peers fixed.

    Equivalent to calling `fitted.what_if(row, change)` for each change (the tests check
    this): every variant is the firm's row with one change applied and a distinct key, and
    each variant is given the firm's own fitted values (the `baseline` row), so the firm's
    old value leaves the peer counts exactly as in `what_if`. Returns the scores frame with
    a `variant` column (the index into `changes`).
    """
    key = fitted.key
    first = key[0]
    own_key = row.get_column(first)[0]
    tags = [f"{own_key}#{k:05d}" for k in range(len(changes))]
    variants = []
    for tag, change in zip(tags, changes, strict=True):
        exprs = [pl.lit(tag).alias(first)]
        for code, value in change.items():
            dtype = row.schema.get(code, pl.Float64)
            exprs.append(pl.lit(value).cast(dtype).alias(code))
        variants.append(row.with_columns(exprs))
    rows = pl.concat(variants, how="vertical_relaxed")
    own = fitted.baseline.filter(pl.col(first) == own_key)
    baseline = pl.concat([own.with_columns(pl.lit(tag).alias(first)) for tag in tags])
    proxy = dataclasses.replace(fitted, baseline=baseline)
    scores = proxy.what_if(rows).scores
    index = {tag: k for k, tag in enumerate(tags)}
    return scores.with_columns(
        pl.col(first).replace_strict(index, return_dtype=pl.Int64).alias("variant")
    ).sort("variant")


# ---------------------------------------------------------------------------- next band


def next_band_target(
    model: IndicatorModel, population: pl.DataFrame, uscc: str, band: str | None
) -> BandTarget:
    """The stricter band after `band` and the points the firm needs to reach it.

    `population` is the run's scores frame (one row per firm: uscc, group columns, total).
    Ranks are "min" ranks within the band group, so a total equal to the k-th highest
    total among the other firms gives rank ≤ k, and band level `top` needs rank ≤ ⌊top·n⌋.
    """
    levels = sorted(model.doc.bands.levels, key=lambda b: b.top)
    codes = [b.code for b in levels]
    if not levels or (band and band == codes[0]):
        return BandTarget(None, None, None, None, False)
    position = codes.index(band) if band in codes else len(levels)
    level = levels[position - 1]
    group = model.doc.ranking[model.doc.bands.group]
    me = population.filter(pl.col("uscc") == uscc)
    if me.is_empty() or me.get_column("total")[0] is None:
        return BandTarget(level.code, level.top, None, None, False)
    mine = me.row(0, named=True)
    peers = population.filter(pl.col("total").is_not_null())
    for column in group:
        peers = peers.filter(pl.col(column).eq_missing(mine[column]))
    n = peers.height
    k = math.floor(level.top * n + 1e-9)
    if k < 1:
        return BandTarget(level.code, level.top, None, None, False)
    others = np.sort(
        peers.filter(pl.col("uscc") != uscc).get_column("total").to_numpy().astype(float)
    )[::-1]
    needed = float(others[k - 1]) if others.size >= k else 0.0
    total = float(mine["total"])
    return BandTarget(level.code, level.top, needed, max(0.0, needed - total), True)


# ---------------------------------------------------------------------------- candidates


def _effort(current: float | None, target: float) -> float:
    base = max(abs(current or 0.0), abs(target))
    if base == 0:
        return 1.0
    return max(1e-6, (target - (current or 0.0)) / base)


def _field_value(
    indicator: Any, target: float, row: dict[str, Any], int_fields: set[str]
) -> Any | None:
    """The value of the indicator's field that gives indicator value `target`."""
    value = target
    if indicator.denominator:
        denominator = row.get(indicator.denominator)
        if denominator is None or denominator == 0:
            return None
        value = target * float(denominator)
    if indicator.field in int_fields:
        return int(math.ceil(value - 1e-9))
    return float(value)


def _peer_quantile(values: np.ndarray, q: float) -> float | None:
    return float(np.quantile(values, q / 100.0)) if values.size else None


def candidate_changes(
    model: IndicatorModel,
    stage: str | None,
    row: dict[str, Any],
    current: dict[str, float | None],
    percentile: dict[str, float | None],
    peer_values: dict[str, np.ndarray],
    int_fields: set[str],
) -> list[Change]:
    """Every single change worth trying for one firm (only indicators it has data for).

    `current` maps indicator id → the firm's indicator value, `percentile` its percentile
    among peers, `peer_values` the peers' values (sorted); `row` is the firm's input row.
    """
    out: list[Change] = []
    for ind in model.doc.indicators:
        value = current.get(ind.id)
        if value is None or ind.direction != 1 or ind.field.startswith(("has_", "neg_")):
            continue
        method = ind.method
        targets: list[tuple[float, str, float | None]] = []  # target, basis, effort override
        if method.kind == "segments":
            lowers = sorted(
                s.lower for s in method.segments or [] if s.lower is not None and s.lower > value
            )
            targets += [(t, "segment", None) for t in lowers[:2]]
        elif method.kind == "ordinal":
            mapping = method.map or {}
            field_value = row.get(ind.field)
            mine = mapping.get(str(field_value), 0.0) if field_value is not None else 0.0
            better = sorted((v, k) for k, v in mapping.items() if v > mine)
            for steps, (_score, level) in enumerate(better[:2], start=1):
                out.append(
                    Change(
                        ind.id,
                        ind.field,
                        value,
                        float(_score),
                        field_value,
                        level,
                        steps / max(1, len(mapping) - 1),
                        "level",
                    )
                )
            continue
        elif method.kind == "reference":
            reference = method.reference
            if isinstance(reference, dict):
                reference = reference.get(stage or "", None)
            if reference is not None and value < float(reference):
                targets.append((float(reference), "reference", None))
                targets.append((value + (float(reference) - value) / 2, "reference/2", None))
        else:
            peers = peer_values.get(ind.id, np.empty(0))
            pct = percentile.get(ind.id)
            levels = [(q, f"p{q:g}") for q in PEER_LEVELS]
            if pct is not None:
                levels += [(min(99.0, pct + s), f"+{s:g}pct") for s in PERCENTILE_STEPS]
            for q, basis in levels:
                t = _peer_quantile(peers, q)
                if t is not None and t > value * (1 + 1e-9) + 1e-12:
                    targets.append((t, basis, None))
            if method.kind == "goalposts" and method.best is not None and value < method.best:
                targets.append((float(method.best), "goalpost", None))
        seen: set[Any] = set()
        for target, basis, _ in targets:
            field_value = _field_value(ind, target, row, int_fields)
            if field_value is None or field_value in seen:
                continue
            if row.get(ind.field) is not None and field_value <= row[ind.field]:
                continue
            seen.add(field_value)
            out.append(
                Change(
                    ind.id,
                    ind.field,
                    value,
                    target,
                    row.get(ind.field),
                    field_value,
                    _effort(value, target),
                    basis,
                )
            )
    return out


def rank_suggestions(
    changes: list[Change], scored: pl.DataFrame, total: float, band: BandTarget, group: str
) -> list[Suggestion]:
    """The changes that gain points, best points-per-effort first, one per indicator."""
    out = []
    for change, row in zip(changes, scored.iter_rows(named=True), strict=True):
        new_total = row["total"]
        if new_total is None:
            continue
        gain = float(new_total) - total
        if gain <= 1e-6:
            continue
        out.append(
            Suggestion(
                change,
                gain,
                float(new_total),
                row.get(f"rank_{group}"),
                row.get("band"),
                gain / change.effort,
                band.needed_total is not None and new_total >= band.needed_total - 1e-9,
            )
        )
    out.sort(key=lambda s: (-s.per_effort, -s.gain, s.change.indicator))
    best: list[Suggestion] = []
    used: set[str] = set()
    for suggestion in out:
        if suggestion.change.indicator in used:
            continue
        used.add(suggestion.change.indicator)
        best.append(suggestion)
        if len(best) >= MAX_SUGGESTIONS:
            break
    return best


def missing_inputs(field: str, row: dict[str, Any]) -> list[str]:
    """The input fields whose absence leaves `field` missing (a ratio's parts, or itself)."""
    if field in RATIO_PARTS:
        num, den, _ = RATIO_PARTS[field]
        parts = [c for c in (num, den) if row.get(c) is None]
        return parts or [field]
    if field in ("revenue_growth", "revenue_cagr_3y"):
        return ["revenue"]  # this year's or an earlier year's revenue
    return [field]
