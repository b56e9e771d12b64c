"""The composite-indicator pipeline as Polars expressions, with a fit/apply split.

Stages per indicator: raw → denominated → imputed → (log) → treated → normalised score
in [0, 1] (by the indicator's method, within its peer group) → missing policy. Nodes
aggregate their children bottom-up; points flow top-down (a child's share of its
parent's points is its weight × score share). Bonus and negative items adjust the total;
ranks, percentiles and bands are computed within peer groups.

`score(frame, model)` runs everything over one cross-section in one columnar pass
(peer statistics are window expressions, except the within-group ranks of percentile
and rank indicators and of the totals: one numpy sort per peer group, bit-identical). `fit(frame, model)` keeps the peer statistics
(group tables, sorted peer values, treatment bounds, totals) so that
`FittedModel.apply(rows)` scores any rows against the fixed peers, and
`FittedModel.what_if(rows, changes)` re-scores changed firms in milliseconds.
Loops run over indicators, nodes, stages and peer groups, never over enterprises.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from innopoints.engine.scoring.model import Indicator, IndicatorModel, MissingPolicy, Node
from innopoints.engine.scoring.treatment import TreatmentFit, fit_treatment

ENGINE_VERSION = "scoring-1"
DEFAULT_KEY = ("uscc", "year")
RELATIVE = {"percentile", "rank", "minmax", "zscore"}
SORTED_STATS = {"percentile", "rank"}


IN_FIT = "__in_fit"
_SMALL = pl.QueryOptFlags.none()  # planning costs more than it saves on a few rows


class DataError(ValueError):
    """The input frame cannot be scored with this model (missing columns, duplicate keys)."""


def col(prefix: str, ident: str) -> str:
    """The working column name of a stage value of an indicator or node."""
    return f"{prefix}:{ident}"


# --------------------------------------------------------------------------- helpers


ALL = "__all"  # a constant column: the peer group of everybody


def _over(expr: pl.Expr, group: Sequence[str]) -> pl.Expr:
    """A peer statistic broadcast to every row of its group.

    The empty group is a window over a constant column rather than a scalar, because
    Polars divides by a scalar through its reciprocal: scalar and column divisors differ
    in the last bit, and batch and fitted (apply) scoring must agree exactly."""
    return expr.over(list(group) if group else ALL)


def _signed_log(value: pl.Expr) -> pl.Expr:
    return pl.when(value >= 0).then(value.log1p()).otherwise(-(-value).log1p())


STAGE_INDEX = "__stage_index"


def sum_across(items: Sequence[pl.Expr]) -> pl.Expr:
    """Row-wise sum with nulls counted as zero, added left to right (0.0 for no items).

    Not `pl.sum_horizontal`: it reduces its inputs on the thread pool, and from nine inputs
    up the shape of that reduction (so the last bits of the sum) depends on work stealing
    between threads, which would break "same data, same bytes"."""
    total: pl.Expr | None = None
    for item in items:
        term = item.fill_null(0.0)
        total = term if total is None else total + term
    return pl.lit(0.0) if total is None else total


def _stage_constant(model: IndicatorModel, value: float | dict[str, float]) -> float | None:
    """The number when it is the same in every stage, else None."""
    if not isinstance(value, dict):
        return float(value)
    values = {float(value[code]) for code in model.stage_codes}
    return values.pop() if len(values) == 1 else None


def stage_value(model: IndicatorModel, value: float | dict[str, float]) -> pl.Expr:
    """A per-stage number as an expression: a literal, or a lookup by the row's stage."""
    constant = _stage_constant(model, value)
    if constant is not None:
        return pl.lit(constant)
    values = [float(value[code]) for code in model.stage_codes]  # type: ignore[index]
    return pl.lit(pl.Series(values, dtype=pl.Float64)).gather(pl.col(STAGE_INDEX))


def _times_reciprocal(value: pl.Expr, divisor: float) -> pl.Expr:
    """value ÷ a constant, written as value × (1 ÷ constant).

    That is what Polars computes for a literal divisor on a many-row frame, while on a
    one-row frame it divides; spelling it out gives every path (batch, what-if, the
    one-row scorer) the same bits."""
    return value * (1.0 / divisor)


def item_weight(model: IndicatorModel, item: Any) -> pl.Expr:
    """The weight (or bonus points) of a node, indicator or bonus item in the row's stage."""
    return stage_value(model, {code: model.weight(item, code) for code in model.stage_codes})


def _varies_by_stage(model: IndicatorModel, item: Any) -> bool:
    return len({model.weight(item, code) for code in model.stage_codes}) > 1


def _weight_ref(model: IndicatorModel, item: Any) -> pl.Expr:
    """The weight column made by `_weight_columns` (a literal when constant)."""
    if _varies_by_stage(model, item):
        return pl.col(col("w", item.id))
    return pl.lit(model.weight(item, model.stage_codes[0]))


def _weight_columns(model: IndicatorModel) -> list[pl.Expr]:
    items = [n for n in model.doc.nodes if n.parent is not None] + list(model.doc.indicators)
    return [
        item_weight(model, item).alias(col("w", item.id))
        for item in items
        if _varies_by_stage(model, item)
    ]


@dataclass(frozen=True)
class _IndicatorPlan:
    ind: Indicator
    missing: MissingPolicy
    impute_group: tuple[str, ...]
    peer_group: tuple[str, ...]


def _plans(model: IndicatorModel) -> list[_IndicatorPlan]:
    plans = []
    for ind in model.doc.indicators:
        missing = ind.missing_policy or model.doc.defaults.missing
        peer = tuple(
            ind.method.group if ind.method.group is not None else model.doc.defaults.peer_group
        )
        impute = tuple(missing.group if missing.group is not None else peer)
        plans.append(_IndicatorPlan(ind, missing, impute, peer))
    return plans


def model_columns(model: IndicatorModel) -> set[str]:
    """Every input column a model reads (fields, denominators, group columns)."""
    needed: set[str] = set()
    for plan in _plans(model):
        needed.add(plan.ind.field)
        if plan.ind.denominator:
            needed.add(plan.ind.denominator)
        needed |= set(plan.peer_group) | set(plan.impute_group)
    needed |= {item.field for item in [*model.doc.bonus, *model.doc.negative]}
    for group in model.doc.ranking.values():
        needed |= set(group)
    return needed


# --------------------------------------------------------------------------- preparation


def prepare(
    frame: pl.DataFrame | pl.LazyFrame, model: IndicatorModel, key: Sequence[str] = DEFAULT_KEY
) -> pl.DataFrame:
    """The input with engine columns added (stage, industry section), checked and sorted by key."""
    lf = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    names = set(lf.collect_schema().names())
    key = [k for k in key if k in names]
    if not key:
        raise DataError("the frame has none of the key columns (uscc, year)")
    additions = []
    if "industry_code" in names:
        if "industry_section" not in names:
            additions.append(pl.col("industry_code").str.slice(0, 1).alias("industry_section"))
        if "industry_division" not in names:
            additions.append(pl.col("industry_code").str.slice(0, 3).alias("industry_division"))
    if model.doc.stages is not None or model.doc.stage_field not in names:
        additions.append(model.stage_scheme.expr().alias(model.doc.stage_field))
    for item in [*model.doc.bonus, *model.doc.negative]:
        if item.field not in names and item.field.startswith(("has_", "neg_")):
            additions.append(pl.lit(False).alias(item.field))
    if additions:
        lf = lf.with_columns(additions)
        names |= {a.meta.output_name() for a in additions}
    stage = pl.col(model.doc.stage_field)
    lf = lf.with_columns(
        pl.lit(0, dtype=pl.UInt8).alias(ALL),
        stage.replace_strict(
            list(model.stage_codes),
            list(range(len(model.stage_codes))),
            default=None,
            return_dtype=pl.UInt32,
        ).alias(STAGE_INDEX),
    )
    missing = sorted(model_columns(model) - names)
    if missing:
        raise DataError(f"the data lack columns the model {model.id} needs: {', '.join(missing)}")
    small = isinstance(frame, pl.DataFrame) and frame.height < 1000
    df = lf.collect(optimizations=_SMALL) if small else lf.collect()
    if df.height <= 1:  # one firm (what-if): in order, no duplicates
        return df
    # canonical row order (sorted by key) makes every result independent of input order;
    # data loaded in key order (the usual case) is only checked, not re-sorted
    in_order = pl.lit(True)
    same_as_previous = pl.lit(True)
    for k in reversed(key):
        current, previous = pl.col(k), pl.col(k).shift(1)
        in_order = (current > previous) | ((current == previous) & in_order)
        same_as_previous = same_as_previous & (current == previous)
    if not df.select(in_order.fill_null(True).all()).item():
        df = df.sort(key)
    if df.select(same_as_previous.fill_null(False).any()).item():
        raise DataError(f"duplicate rows for key {key}: each firm-year must appear once")
    return df


# --------------------------------------------------------------------------- statistics


class _Stats:
    """Peer statistics: window expressions (batch) or fitted tables (apply)."""

    def impute(self, plan: _IndicatorPlan, value: pl.Expr) -> pl.Expr:  # pragma: no cover
        raise NotImplementedError

    def group_stat(
        self, plan: _IndicatorPlan, name: str, value: pl.Expr
    ) -> pl.Expr:  # pragma: no cover
        raise NotImplementedError


def _ordered_sum(value: pl.Expr) -> pl.Expr:
    """Sum of the non-null values, added in row order.

    A multithreaded `sum()`/`mean()` inside a window may add partial sums in a different
    order from run to run, so the last bits of the result vary; a cumulative sum runs
    through each group's rows in order, which keeps results identical run after run.
    """
    return value.fill_null(0.0).cum_sum().last()


def _ordered_mean(value: pl.Expr) -> pl.Expr:
    return _ordered_sum(value) / value.count()


def _ordered_std(value: pl.Expr) -> pl.Expr:
    """Sample standard deviation (ddof 1) with sums in row order; null below 2 values."""
    n = value.count()
    squares = _ordered_sum((value - _ordered_mean(value)).pow(2))
    return pl.when(n > 1).then((squares / (n - 1)).sqrt())


class _BatchStats(_Stats):
    """Window expressions; the sorted statistics (n, below, below_half) of the indicators in
    `ranked` are precomputed columns (`_ranked_columns`) instead of `rank()`/`count()`
    windows."""

    def __init__(self, ranked: frozenset[str] = frozenset()) -> None:
        self.ranked = ranked

    def impute(self, plan: _IndicatorPlan, value: pl.Expr) -> pl.Expr:
        stat = _ordered_mean(value) if plan.missing.policy == "impute_mean" else value.median()
        return _over(stat, plan.impute_group)

    def group_stat(self, plan: _IndicatorPlan, name: str, value: pl.Expr) -> pl.Expr:
        if plan.ind.id in self.ranked and name in ("below", "below_half", "n"):
            return pl.col(col(f"st_{name}", plan.ind.id))
        exprs = {
            "min": value.min(),
            "max": value.max(),
            "mean": _ordered_mean(value),
            "std": _ordered_std(value),
            "n": value.count(),
            # percentile/rank: number of peers below (+ half of those equal)
            "below_half": value.rank("average") - 0.5,
            "below": value.rank("min") - 1,
        }
        return _over(exprs[name], plan.peer_group)


class _FittedStats(_Stats):
    def impute(self, plan: _IndicatorPlan, value: pl.Expr) -> pl.Expr:
        return pl.col(col("st_imp", plan.ind.id))

    def group_stat(self, plan: _IndicatorPlan, name: str, value: pl.Expr) -> pl.Expr:
        return pl.col(col(f"st_{name}", plan.ind.id))


@dataclass(frozen=True)
class _Segments:
    """The rows of a frame grouped by peer group: `order` brings each group together,
    `bounds` delimit the groups in it, `index` is each row's group number."""

    order: np.ndarray
    bounds: np.ndarray
    index: np.ndarray


def _group_segments(df: pl.DataFrame, group: Sequence[str]) -> _Segments:
    """The rows grouped as the partitions of `over(group)` (null keys form their own group)."""
    if not group:
        return _Segments(
            np.arange(df.height), np.array([0, df.height]), np.zeros(df.height, dtype=np.intp)
        )
    table = (
        df.select(list(group))
        .with_row_index("__row")
        .group_by(list(group))  # group order is irrelevant: groups are independent
        .agg(pl.col("__row"), pl.len().alias("__n"))
    )
    order = table.get_column("__row").explode().to_numpy().astype(np.int64, copy=False)
    sizes = table.get_column("__n").to_numpy()
    index = np.empty(df.height, dtype=np.intp)
    index[order] = np.repeat(np.arange(sizes.size), sizes)
    return _Segments(order, np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]), index)


_SIGN_BIT = np.uint64(1 << 63)


def _argsort_floats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions that sort `values` (float64 without NaN), and the sorted values.

    numpy sorts plain 64-bit integers with SIMD but sorts floats indirectly (`argsort`)
    element by element, about twice as slowly. So each value becomes an order-preserving
    integer key (the IEEE bits, negatives flipped; -0.0 counts as 0.0) whose low bits are
    replaced by the value's position, and one `sort` of those keys gives the order. Values
    whose keys differ only in those low bits come out in position order; those few runs
    are then sorted by value exactly."""
    size = values.size
    bits = (values + 0.0).view(np.uint64)
    keys = np.where(bits >= _SIGN_BIT, ~bits, bits | _SIGN_BIT)
    shift = np.uint64(max((size - 1).bit_length(), 1))
    keys >>= shift
    keys <<= shift
    keys |= np.arange(size, dtype=np.uint64)
    keys.sort()
    positions = (keys & np.uint64((1 << int(shift)) - 1)).astype(np.intp)
    ordered = values[positions]
    high = keys >> shift
    same_high = high[1:] == high[:-1]
    cut_apart = same_high & (ordered[1:] != ordered[:-1])
    if cut_apart.any():  # values closer than the key bits: sort those runs by value
        run = np.concatenate([[0], np.cumsum(~same_high)])
        members = np.flatnonzero(np.isin(run, run[1:][cut_apart]))
        slots = positions[members]
        positions[members] = slots[np.lexsort((values[slots], run[members]))]
        ordered[members] = values[positions[members]]
    return positions, ordered


def _ranked_stat(
    values: np.ndarray, order: np.ndarray, bounds: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per row, within its peer group (NaN = null, which stays NaN): `below_half`, peers
    below + half of those equal including itself (`rank("average") - 0.5`), or `below`,
    peers strictly below (`rank("min") - 1`); and per group the number of non-null values.

    One sort per peer group instead of a window sort; loops over groups, not rows. Values
    are gathered in group order (cache-local) and each result written to its row."""
    out = np.full(values.shape, np.nan)
    counts = np.zeros(bounds.size - 1, dtype=np.int64)
    grouped = values[order]
    for k, (start, end) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)):
        present = np.flatnonzero(~np.isnan(grouped[start:end]))
        m = present.size
        counts[k] = m
        if m == 0:
            continue
        segment = grouped[start:end][present]
        by_value, ordered = _argsort_floats(segment)
        new_run = np.empty(m, dtype=bool)
        new_run[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new_run[1:])
        starts = np.flatnonzero(new_run)
        run = np.cumsum(new_run) - 1
        if name == "below_half":
            stat = (starts + np.append(starts[1:], m)) / 2
        else:
            stat = starts.astype(np.float64)
        out[order[start:end][present][by_value]] = stat[run]
    return out, counts


def _ranked_columns(
    df: pl.DataFrame, directed: pl.DataFrame, plans: Sequence[_IndicatorPlan]
) -> tuple[list[pl.Series], frozenset[str]]:
    """The window statistics `st_below_half` (percentile) or `st_below` (rank), and the peer
    count `st_n`, of the percentile and rank indicators, computed with numpy from the
    directed values (one column per indicator in `directed`, rows as `df`). Bit-identical
    to `rank().over()` and `count().over()`; columns holding NaN (ordered differently
    from nulls) are left to the window expressions."""
    segments: dict[tuple[str, ...], _Segments] = {}
    jobs: list[tuple[str, str, str, tuple[str, ...]]] = []
    for plan in plans:
        ident = plan.ind.id
        name = col("dir", ident)
        if directed.get_column(name).cast(pl.Float64).is_nan().any():
            continue
        if plan.peer_group not in segments:
            segments[plan.peer_group] = _group_segments(df, plan.peer_group)
        stat = "below_half" if plan.ind.method.kind == "percentile" else "below"
        jobs.append((ident, stat, name, plan.peer_group))
    # nulls as NaN in one parallel Polars pass; numpy then reads the buffers without a copy
    filled = directed.select(
        pl.col(name).cast(pl.Float64).fill_null(float("nan")) for _, _, name, _ in jobs
    )

    def run(job: tuple[str, str, str, tuple[str, ...]]) -> list[pl.Series]:
        ident, stat, name, group = job
        seg = segments[group]
        values, counts = _ranked_stat(
            filled.get_column(name).to_numpy(), seg.order, seg.bounds, stat
        )
        return [
            pl.Series(col(f"st_{stat}", ident), values, nan_to_null=True),
            pl.Series(col("st_n", ident), counts.astype(np.uint32)[seg.index]),
        ]

    # numpy releases the GIL in sorts and gathers: indicators run on the pool's threads
    workers = min(len(jobs), pl.thread_pool_size(), 4)
    if workers > 1 and df.height >= 10_000:
        with ThreadPoolExecutor(workers) as pool:
            out = [s for pair in pool.map(run, jobs) for s in pair]
    else:
        out = [s for job in jobs for s in run(job)]
    return out, frozenset(ident for ident, _, _, _ in jobs)


# --------------------------------------------------------------------------- stages


def _raw_expr(
    plan: _IndicatorPlan, model: IndicatorModel, dtypes: dict[str, pl.DataType]
) -> pl.Expr:
    ind = plan.ind
    source = pl.col(ind.field)
    if ind.method.kind == "ordinal":
        choices = model.fields[ind.field].choices if ind.field in model.fields else ()
        if choices:
            return source.cast(pl.String).replace_strict(
                list(choices),
                list(map(float, range(len(choices)))),
                default=None,
                return_dtype=pl.Float64,
            )
        return pl.lit(None, dtype=pl.Float64)
    if dtypes.get(ind.field) == pl.String():
        raise DataError(f"indicator {ind.id}: field {ind.field} is text; use the ordinal method")
    return source.cast(pl.Float64)


class _Recorder:
    """Stands in for a LazyFrame while building: records `with_columns` layers to replay."""

    def __init__(self) -> None:
        self.layers: list[list[pl.Expr]] = []

    def with_columns(self, *exprs: Any) -> _Recorder:
        flat: list[pl.Expr] = []
        for item in exprs:
            flat.extend([item] if isinstance(item, pl.Expr) else list(item))
        self.layers.append(flat)
        return self

    def replay(self, lf: pl.LazyFrame) -> pl.LazyFrame:
        for layer in self.layers:
            lf = lf.with_columns(layer)
        return lf

    def inputs(self) -> frozenset[str]:
        """The columns the layers read that they do not make themselves."""
        made: set[str] = set()
        read: set[str] = set()
        for layer in self.layers:
            for expr in layer:
                read |= {name for name in expr.meta.root_names() if name not in made}
            made |= {expr.meta.output_name() for expr in layer}
        return frozenset(read)


def _input_stages(
    lf: Any, model: IndicatorModel, stats: _Stats, dtypes: dict[str, pl.DataType]
) -> Any:
    """raw, denominated, missing flag, imputed (and signed log) columns for every indicator."""
    raw, den, imp = [], [], []
    for plan in _plans(model):
        ind = plan.ind
        raw.append(_raw_expr(plan, model, dtypes).alias(col("raw", ind.id)))
        value = pl.col(col("raw", ind.id))
        if ind.denominator:
            d = pl.col(ind.denominator).cast(pl.Float64)
            value = pl.when(d != 0).then(value / d).otherwise(None)
        den.append(value.alias(col("den", ind.id)))
        den.append(value.is_null().alias(col("mis", ind.id)))
        value = pl.col(col("den", ind.id))
        if plan.missing.policy in ("impute_mean", "impute_median"):
            value = value.fill_null(stats.impute(plan, value))
        if ind.transform.log:
            value = _signed_log(value)
        imp.append(value.alias(col("imp", ind.id)))
    return lf.with_columns(raw).with_columns(den).with_columns(imp)


def fit_treatments(df: pl.DataFrame, model: IndicatorModel) -> dict[str, TreatmentFit]:
    """Fit the outlier treatment of every indicator that asks for one."""
    fits: dict[str, TreatmentFit] = {}
    for ind in model.doc.indicators:
        treat = ind.transform.treat
        if treat is not None:
            values = df.get_column(col("imp", ind.id)).cast(pl.Float64).fill_null(np.nan).to_numpy()
            fits[ind.id] = fit_treatment(values, treat.skew, treat.kurtosis, treat.winmax)
    return fits


def _treated(
    lf: pl.LazyFrame, model: IndicatorModel, fits: dict[str, TreatmentFit]
) -> pl.LazyFrame:
    exprs = []
    for ind in model.doc.indicators:
        value = pl.col(col("imp", ind.id))
        if ind.id in fits:
            value = fits[ind.id].expr(value)
        exprs.append(value.alias(col("trt", ind.id)))
        exprs.append((value * ind.direction).alias(col("dir", ind.id)))
    return lf.with_columns(exprs)


def _method_score(plan: _IndicatorPlan, model: IndicatorModel, stats: _Stats) -> pl.Expr:
    """The normalised score in [0, 1] of one indicator (null when missing)."""
    ind, method = plan.ind, plan.ind.method
    value = pl.col(col("trt", ind.id))
    directed = pl.col(col("dir", ind.id))
    kind = method.kind
    if kind == "reference":
        ref = stage_value(model, method.reference)  # type: ignore[arg-type]
        if ind.direction == 1:
            constant = _stage_constant(model, method.reference)  # type: ignore[arg-type]
            ratio = value / ref if constant is None else _times_reciprocal(value, constant)
            return ratio.clip(0.0, 1.0)
        return pl.when(value <= ref).then(1.0).otherwise(ref / value)
    if kind == "segments":
        segs = method.segments or []
        top = max(float(s.points) for s in segs)
        chain: Any = None
        for seg in segs:
            cond = pl.lit(True)
            if seg.lower is not None:
                cond = cond & (value >= seg.lower)
            if seg.upper is not None:
                cond = cond & (value < seg.upper)
            chain = (pl.when(cond) if chain is None else chain.when(cond)).then(
                float(seg.points) / top
            )
        return pl.when(value.is_null()).then(None).otherwise(chain.otherwise(0.0))
    if kind == "goalposts":
        worst, best = float(method.worst), float(method.best)  # type: ignore[arg-type]
        return _times_reciprocal(value - worst, best - worst).clip(0.0, 1.0)
    if kind == "ordinal":
        mapping = method.map or {}
        return (
            pl.col(ind.field)
            .cast(pl.String)
            .replace_strict(
                list(mapping),
                [float(v) for v in mapping.values()],
                default=None,
                return_dtype=pl.Float64,
            )
        )
    n = stats.group_stat(plan, "n", directed)
    if kind == "percentile":
        return stats.group_stat(plan, "below_half", directed) / n
    if kind == "rank":
        below = stats.group_stat(plan, "below", directed)
        return (
            pl.when(n > 1)
            .then(below / (n - 1))
            .otherwise(pl.when(directed.is_not_null()).then(1.0))
        )
    if kind == "minmax":
        lo, hi = stats.group_stat(plan, "min", directed), stats.group_stat(plan, "max", directed)
        return (
            pl.when(hi > lo)
            .then(((directed - lo) / (hi - lo)).clip(0.0, 1.0))
            .otherwise(pl.when(directed.is_not_null()).then(0.5))
        )
    if kind == "zscore":
        mean, std = (
            stats.group_stat(plan, "mean", directed),
            stats.group_stat(plan, "std", directed),
        )
        z = (directed - mean) / std
        return (
            pl.when(std > 0)
            .then((0.5 + _times_reciprocal(z, 2.0 * method.clip)).clip(0.0, 1.0))
            .otherwise(pl.when(directed.is_not_null()).then(0.5))
        )
    raise ValueError(f"unknown method {kind}")  # pragma: no cover - the model is validated


def _normalised(lf: pl.LazyFrame, model: IndicatorModel, stats: _Stats) -> pl.LazyFrame:
    exprs = []
    for plan in _plans(model):
        score = _method_score(plan, model, stats)
        if plan.missing.policy == "zero":
            score = score.fill_null(0.0)
        exprs.append(score.cast(pl.Float64).alias(col("nrm", plan.ind.id)))
    return lf.with_columns(exprs)


def _aggregate(
    node: Node,
    model: IndicatorModel,
    score_col: Callable[[str], str] = lambda ident: col("nrm", ident),
    weight: Callable[[Any], pl.Expr] | None = None,
) -> pl.Expr:
    """A node's score from its children's scores (columns named by `score_col`)."""
    helpers, final = _aggregate_steps(node, model, score_col, weight, inline=True)
    return final


def weighted_children(model: IndicatorModel, node: Node) -> list[Node | Indicator]:
    """The children a node aggregates: those with a positive weight in some stage."""
    return [
        c
        for c in model.children(node.id)
        if any(model.weight(c, code) > 0 for code in model.stage_codes)
    ]


def _aggregate_steps(
    node: Node,
    model: IndicatorModel,
    score_col: Callable[[str], str] = lambda ident: col("nrm", ident),
    weight: Callable[[Any], pl.Expr] | None = None,
    *,
    inline: bool = False,
) -> tuple[list[pl.Expr], pl.Expr]:
    """`_aggregate` in two steps: helper columns (available weight, total weight, value),
    then the node's score from them. The same arithmetic; the two small expressions plan
    much faster than the one large one (which matters for one-firm what-ifs)."""
    agg = node.aggregation
    weight = weight or (lambda item: _weight_ref(model, item))
    kids = weighted_children(model, node)
    if not kids:
        return [], pl.lit(None, dtype=pl.Float64)
    parts = [(pl.col(score_col(c.id)), weight(c)) for c in kids]
    total_weight = sum_across([w for _, w in parts])
    avail = sum_across([w * s.is_not_null() for s, w in parts])
    helpers: list[pl.Expr] = []
    if not inline:
        helpers.append(avail.alias(col("__avail", node.id)))
        avail = pl.col(col("__avail", node.id))
    shift = float(agg.shift)
    if agg.method == "arithmetic":
        value = sum_across([s * w for s, w in parts]) / avail
    elif agg.method == "geometric":
        logs = sum_across([(s + shift).log() * w for s, w in parts])
        value = (logs / avail).exp() - shift
    elif agg.method == "harmonic":
        value = avail / sum_across([w / (s + shift) for s, w in parts]) - shift
    else:
        p = float(agg.p)  # type: ignore[arg-type]
        powered = sum_across([(s + shift).pow(p) * w for s, w in parts])
        value = (powered / avail).pow(1.0 / p) - shift
    if not inline:
        helpers.append(total_weight.alias(col("__tw", node.id)))
        helpers.append(value.alias(col("__value", node.id)))
        total_weight, value = pl.col(col("__tw", node.id)), pl.col(col("__value", node.id))
    ok = (avail > 0) & (avail >= agg.min_share * total_weight - 1e-12)
    return helpers, pl.when(ok).then(value.clip(0.0, 1.0)).otherwise(None)


def _aggregated(lf: pl.LazyFrame, model: IndicatorModel) -> pl.LazyFrame:
    lf = lf.with_columns(_weight_columns(model))
    for level in reversed(_levels(model)):
        steps = [_aggregate_steps(node, model) for node in level]
        avail = [h for helpers, _ in steps for h in helpers[:1]]
        if avail:
            lf = lf.with_columns(avail)
        rest = [h for helpers, _ in steps for h in helpers[1:]]
        if rest:
            lf = lf.with_columns(rest)
        lf = lf.with_columns(
            final.alias(col("nrm", node.id)) for node, (_, final) in zip(level, steps, strict=True)
        )
    return lf


def _levels(model: IndicatorModel) -> list[list[Node]]:
    """Aggregate nodes by depth (root first); nodes of one level are independent."""
    levels: list[list[Node]] = []
    current = [model.root]
    while current:
        levels.append(current)
        ids = {n.id for n in current}
        current = [n for n in model.doc.nodes if n.parent in ids]
    return levels


def _points(lf: pl.LazyFrame, model: IndicatorModel) -> pl.LazyFrame:
    """Points top-down: a child gets its parent's points × its weighted-score share."""
    scale = scale_of(model)
    root = model.root
    lf = lf.with_columns((pl.col(col("nrm", root.id)) * scale).alias(col("pts", root.id)))
    for level in _levels(model):
        families = [(node, model.children(node.id)) for node in level]
        lf = lf.with_columns(
            (pl.col(col("nrm", k.id)).fill_null(0.0) * _weight_ref(model, k)).alias(col("sw", k.id))
            for _, kids in families
            for k in kids
        )
        lf = lf.with_columns(
            (
                pl.col(col("pts", node.id)).fill_null(0.0)
                / sum_across([pl.col(col("sw", k.id)) for k in kids])
            ).alias(col("ppu", node.id))
            for node, kids in families
        )
        lf = lf.with_columns(
            pl.when(pl.col(col("ppu", node.id)).is_finite())
            .then(pl.col(col("ppu", node.id)) * pl.col(col("sw", k.id)))
            .otherwise(0.0)
            .alias(col("pts", k.id))
            for node, kids in families
            for k in kids
        )
    lf = lf.with_columns(_bonus_negative_columns(model))
    base = pl.col(col("pts", root.id))
    bonus, deduct = _bonus_sum(model), _deduct_sum(model)
    return lf.with_columns(
        base.alias("base_points"),
        bonus.alias("bonus_points"),
        deduct.alias("deducted_points"),
        total_expr(model, base).alias("total"),
    )


def _bonus_negative_columns(model: IndicatorModel) -> list[pl.Expr]:
    """One column per bonus item (its points) and per negative item (active or not)."""
    exprs = []
    for item in model.doc.bonus:
        value = pl.col(item.field).cast(pl.Float64).fill_null(0.0)
        pts = item_weight(model, item)
        term = value * pts if item.per_unit else pl.when(value > 0).then(pts).otherwise(0.0)
        if item.max is not None:
            term = term.clip(upper_bound=float(item.max))
        exprs.append(term.alias(col("bonus", item.id)))
    for item in model.doc.negative:
        active = pl.col(item.field).cast(pl.Boolean).fill_null(False)
        exprs.append(active.alias(col("neg", item.id)))
    return exprs


def _bonus_sum(model: IndicatorModel) -> pl.Expr:
    items = [pl.col(col("bonus", i.id)) for i in model.doc.bonus]
    return sum_across(items)


def _deduct_sum(model: IndicatorModel) -> pl.Expr:
    items = [
        pl.when(pl.col(col("neg", i.id))).then(float(i.points)).otherwise(0.0)
        for i in model.doc.negative
        if i.action == "deduct"
    ]
    return sum_across(items)


def total_expr(model: IndicatorModel, base: pl.Expr) -> pl.Expr:
    """The total from base points: + bonus − deductions, within [0, scale], then caps and zeros."""
    doc = model.doc
    total = (base + _bonus_sum(model) - _deduct_sum(model)).clip(lower_bound=0.0)
    if doc.scale != "open":
        total = total.clip(upper_bound=float(doc.scale))
    for item in doc.negative:
        if item.action == "cap":
            total = (
                pl.when(pl.col(col("neg", item.id)))
                .then(total.clip(upper_bound=float(item.cap)))
                .otherwise(total)
            )
    for item in doc.negative:
        if item.action == "zero":
            total = pl.when(pl.col(col("neg", item.id))).then(pl.lit(0.0)).otherwise(total)
    return pl.when(base.is_not_null()).then(total).otherwise(None)


def scale_of(model: IndicatorModel) -> float:
    """Points of a root score of 1 (100 for open-scale models)."""
    return 100.0 if model.doc.scale == "open" else float(model.doc.scale)


def _band_expr(model: IndicatorModel) -> pl.Expr:
    group = model.doc.bands.group
    top = pl.col(f"rank_{group}") / pl.col(f"n_{group}")
    levels = model.doc.bands.levels
    if not levels:
        return pl.lit(None, dtype=pl.String)
    chain = pl.when(top <= levels[0].top).then(pl.lit(levels[0].code))
    for level in levels[1:]:
        chain = chain.when(top <= level.top).then(pl.lit(level.code))
    return chain.otherwise(None)


def _pct_expr(name: str) -> pl.Expr:
    """Percentile of the total in a ranking group: 100 · (n − rank + ½) / n.

    Integer arithmetic and one division, so every evaluation order gives the same bits."""
    n, rank = pl.col(f"n_{name}").cast(pl.Int64), pl.col(f"rank_{name}").cast(pl.Int64)
    return (200 * (n - rank) + 100) / (2 * n)


def _batch_ranks(lf: pl.LazyFrame, model: IndicatorModel) -> pl.LazyFrame:
    total = pl.col("total")
    exprs = []
    for name, group in model.doc.ranking.items():
        exprs += [
            _over(total.rank("min", descending=True), group).cast(pl.Int64).alias(f"rank_{name}"),
            _over(total.count(), group).cast(pl.Int64).alias(f"n_{name}"),
        ]
    return _pct_and_band(lf.with_columns(exprs), model)


def _pct_and_band(lf: pl.LazyFrame, model: IndicatorModel) -> pl.LazyFrame:
    # percentile: the share of peers at or below the firm, less half the firm itself
    pct = [_pct_expr(name).alias(f"pct_{name}") for name in model.doc.ranking]
    return lf.with_columns(pct).with_columns(_band_expr(model).alias("band"))


RANK_SUPPORT = (ALL, "total")  # the columns `_with_ranks` reads besides the ranking groups


def _with_ranks(work: pl.DataFrame, model: IndicatorModel) -> pl.DataFrame:
    """Ranks (descending, "min" ties), peer counts, percentiles and band of the totals.

    The ranks come from one numpy sort per ranking group (`_ranked_stat` on the negated
    totals: the peers strictly above + 1), identical to `rank("min", descending=True)`."""
    total = work.get_column("total")
    if work.height == 0 or total.is_nan().any():
        return _batch_ranks(work.lazy(), model).collect()
    negated = (-total).cast(pl.Float64).to_numpy()

    def rank(item: tuple[str, list[str]]) -> list[pl.Series]:
        name, group = item
        seg = _group_segments(work, group)
        above, counts = _ranked_stat(negated, seg.order, seg.bounds, "below")
        return [
            pl.Series(f"rank_{name}", above + 1, nan_to_null=True).cast(pl.Int64),
            pl.Series(f"n_{name}", counts[seg.index]),  # non-null totals of the row's group
        ]

    items = list(model.doc.ranking.items())
    if len(items) > 1 and work.height >= 10_000:
        with ThreadPoolExecutor(min(len(items), pl.thread_pool_size(), 4)) as pool:
            columns = [c for pair in pool.map(rank, items) for c in pair]
    else:
        columns = [c for item in items for c in rank(item)]
    return _pct_and_band(work.with_columns(columns).lazy(), model).collect()


def output_columns(model: IndicatorModel, key: Sequence[str], names: Sequence[str]) -> list[str]:
    """The columns of a scores frame, in order."""
    extra = [c for c in ("name", "zone", "industry_section") if c in names and c not in key]
    ranking = [f"{p}_{g}" for g in model.doc.ranking for p in ("rank", "n", "pct")]
    items = [n.id for n in model.doc.nodes] + [i.id for i in model.doc.indicators]
    return [
        *key,
        *extra,
        model.doc.stage_field,
        "total",
        "base_points",
        "bonus_points",
        "deducted_points",
        *ranking,
        "band",
        *[col("pts", i) for i in items],
    ]


def _scores_frame(work: pl.DataFrame, model: IndicatorModel, key: Sequence[str]) -> pl.DataFrame:
    columns = output_columns(model, key, work.columns)
    return work.select(pl.col(c).alias(_output_name(c)) for c in columns)


def _key(work: pl.DataFrame | pl.LazyFrame, key: Sequence[str]) -> list[str]:
    names = work.collect_schema().names() if isinstance(work, pl.LazyFrame) else work.columns
    return [k for k in key if k in names]


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class ScoreResult:
    """Scores of one run: one row per firm-year, and the hashes that identify the run."""

    scores: pl.DataFrame
    model_hash: str
    data_hash: str
    run_hash: str
    explanation: pl.DataFrame | None = None
    treatments: dict[str, TreatmentFit] = field(default_factory=dict)


def frame_hash(frame: pl.DataFrame) -> str:
    """SHA-256 of a frame's columns (names, types, values, nulls), independent of Polars' IPC."""
    digest = hashlib.sha256()
    for name in sorted(frame.columns):
        series = frame.get_column(name)
        digest.update(f"{name}\x1e{series.dtype}\x1e".encode())
        digest.update(series.is_null().to_numpy().tobytes())
        if series.dtype.is_numeric() or series.dtype == pl.Boolean:
            digest.update(series.fill_null(0).to_numpy().tobytes())
        else:
            digest.update("\x1f".join(series.cast(pl.String).fill_null("").to_list()).encode())
    return "sha256:" + digest.hexdigest()


def run_hash(model_hash: str, data_hash: str) -> str:
    """The identity of a run: engine version, model and data."""
    text = f"{ENGINE_VERSION}|{model_hash}|{data_hash}"
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _work_batch(
    df: pl.DataFrame, model: IndicatorModel
) -> tuple[pl.LazyFrame, dict[str, TreatmentFit]]:
    stats = _BatchStats()
    lf = _input_stages(df.lazy(), model, stats, dict(df.schema))
    fits: dict[str, TreatmentFit] = {}
    if any(i.transform.treat is not None for i in model.doc.indicators):
        imputed = lf.collect()
        fits = fit_treatments(imputed, model)
        lf = imputed.lazy()
    lf = _treated(lf, model, fits)
    ranked = [p for p in _plans(model) if p.ind.method.kind in SORTED_STATS]
    if ranked:
        directed = lf.select(pl.col(col("dir", p.ind.id)) for p in ranked).collect()
        columns, done = _ranked_columns(df, directed, ranked)
        if columns:
            lf = pl.concat([lf, pl.DataFrame(columns).lazy()], how="horizontal")
            stats = _BatchStats(done)
    lf = _normalised(lf, model, stats)
    lf = _aggregated(lf, model)
    return _points(lf, model), fits


def score(
    frame: pl.DataFrame | pl.LazyFrame,
    model: IndicatorModel,
    *,
    key: Sequence[str] = DEFAULT_KEY,
    explain: bool = False,
    hash_data: bool = True,
) -> ScoreResult:
    """Score one cross-section (one year) in one columnar pass; see the module docstring."""
    df = prepare(frame, model, key)
    if "year" in df.columns and df.get_column("year").n_unique() > 1:
        raise DataError("score one year at a time (filter the panel by year first)")
    key = _key(df, key)
    lf, fits = _work_batch(df, model)
    if explain:
        work = _with_ranks(_with_peer_medians(lf, model).collect(), model)
        explanation = explanation_frame(work, model, key)
    else:
        ranking = {f"{p}_{g}" for g in model.doc.ranking for p in ("rank", "n", "pct")}
        needed = [
            c
            for c in output_columns(model, key, lf.collect_schema().names())
            if c not in ranking and c != "band"
        ]
        groups = {c for group in model.doc.ranking.values() for c in group}
        needed += [c for c in (*RANK_SUPPORT, *sorted(groups)) if c not in needed]
        work = _with_ranks(lf.select(needed).collect(), model)
        explanation = None
    scores = _scores_frame(work, model, key)
    data_hash = frame_hash(df.select(sorted(model_columns(model) | set(key)))) if hash_data else ""
    return ScoreResult(
        scores, model.hash, data_hash, run_hash(model.hash, data_hash), explanation, fits
    )


def stages(
    frame: pl.DataFrame, model: IndicatorModel, *, key: Sequence[str] = DEFAULT_KEY
) -> dict[str, pl.DataFrame]:
    """Every intermediate stage, one wide frame per stage with one column per indicator/node.

    Stages: raw, denominated, imputed, treated, normalised (scores in [0, 1]) and
    aggregated (node scores in [0, 1] for every node).
    """
    df = prepare(frame, model, key)
    key = _key(df, key)
    work = _with_ranks(_work_batch(df, model)[0].collect(), model)
    inds = [i.id for i in model.doc.indicators]
    out = {}
    for name, prefix in (
        ("raw", "raw"),
        ("denominated", "den"),
        ("imputed", "imp"),
        ("treated", "trt"),
        ("normalised", "nrm"),
    ):
        out[name] = work.select(*key, *[pl.col(col(prefix, i)).alias(i) for i in inds])
    out["aggregated"] = work.select(
        *key, *[pl.col(col("nrm", n.id)).alias(n.id) for n in model.doc.nodes]
    )
    out["scores"] = _scores_frame(work, model, key)
    return out


def _with_peer_medians(lf: pl.LazyFrame, model: IndicatorModel) -> pl.LazyFrame:
    return lf.with_columns(
        _over(pl.col(col("den", p.ind.id)).median(), p.peer_group).alias(col("med", p.ind.id))
        for p in _plans(model)
    )


def explanation_frame(
    work: pl.DataFrame, model: IndicatorModel, key: Sequence[str]
) -> pl.DataFrame:
    """One row per firm-year and indicator: raw, normalised, peer median, points, contribution,
    whether the value was missing and how that was treated (also bonus and negative rows)."""
    parts = []
    total = pl.col("total")
    for plan in _plans(model):
        ind = plan.ind
        missing = pl.col(col("mis", ind.id))
        policy = plan.missing.policy
        treatment = pl.when(~missing).then(pl.lit("none"))
        if policy in ("impute_mean", "impute_median"):
            treatment = treatment.when(pl.col(col("imp", ind.id)).is_not_null()).then(
                pl.lit(policy)
            )
            treatment = treatment.otherwise(pl.lit("dropped"))
        else:
            treatment = treatment.otherwise(pl.lit({"zero": "zero", "drop": "dropped"}[policy]))
        parts.append(
            work.select(
                *key,
                pl.lit("indicator").alias("kind"),
                pl.lit(ind.id).alias("item"),
                pl.lit(ind.parent).alias("parent"),
                pl.col(col("raw", ind.id)).alias("raw"),
                pl.col(col("den", ind.id)).alias("value"),
                pl.col(col("nrm", ind.id)).alias("normalised"),
                (
                    pl.col(col("med", ind.id))
                    if col("med", ind.id) in work.columns
                    else pl.lit(None, pl.Float64)
                ).alias("peer_median"),
                pl.col(col("pts", ind.id)).alias("points"),
                pl.when(total > 0)
                .then(pl.col(col("pts", ind.id)) / total)
                .otherwise(0.0)
                .alias("contribution"),
                missing.alias("missing"),
                treatment.alias("treatment"),
            )
        )
    for item in model.doc.bonus:
        parts.append(
            work.select(
                *key,
                pl.lit("bonus").alias("kind"),
                pl.lit(item.id).alias("item"),
                pl.lit(None, pl.String).alias("parent"),
                pl.col(item.field).cast(pl.Float64).alias("raw"),
                pl.col(item.field).cast(pl.Float64).alias("value"),
                pl.lit(None, pl.Float64).alias("normalised"),
                pl.lit(None, pl.Float64).alias("peer_median"),
                pl.col(col("bonus", item.id)).alias("points"),
                pl.when(total > 0)
                .then(pl.col(col("bonus", item.id)) / total)
                .otherwise(0.0)
                .alias("contribution"),
                pl.col(item.field).is_null().alias("missing"),
                pl.lit("none").alias("treatment"),
            )
        )
    for item in model.doc.negative:
        active = pl.col(col("neg", item.id))
        pts = -float(item.points) if item.action == "deduct" else 0.0
        parts.append(
            work.select(
                *key,
                pl.lit("negative").alias("kind"),
                pl.lit(item.id).alias("item"),
                pl.lit(item.action).alias("parent"),
                active.cast(pl.Float64).alias("raw"),
                active.cast(pl.Float64).alias("value"),
                pl.lit(None, pl.Float64).alias("normalised"),
                pl.lit(None, pl.Float64).alias("peer_median"),
                pl.when(active).then(pts).otherwise(0.0).alias("points"),
                pl.lit(0.0).alias("contribution"),
                pl.col(item.field).is_null().alias("missing"),
                pl.lit("none").alias("treatment"),
            )
        )
    return pl.concat(parts).sort([*key, "kind", "item"], maintain_order=True)


# --------------------------------------------------------------------------- fit / apply


@dataclass
class _Sorted:
    """Sorted peer values of one indicator per peer group (for percentile and rank)."""

    group: tuple[str, ...]
    values: dict[tuple, np.ndarray]


def _sorted_by_group(df: pl.DataFrame, value: str, group: Sequence[str]) -> _Sorted:
    data = df.select(*group, pl.col(value)).drop_nulls(value)
    if not group:
        return _Sorted((), {(): np.sort(data.get_column(value).to_numpy())})
    values = {}
    for keys, part in data.partition_by(list(group), as_dict=True, maintain_order=True).items():
        values[tuple(keys)] = np.sort(part.get_column(value).to_numpy())
    return _Sorted(tuple(group), values)


def _group_rows(df: pl.DataFrame, group: Sequence[str]) -> list[tuple[tuple, np.ndarray]]:
    """The rows of each peer group (keys as `partition_by` gives them), in first-seen order."""
    if not group:
        return [((), np.arange(df.height))]
    if df.height <= 256:  # a few firms (what-if): no query
        parts: dict[tuple, list[int]] = {}
        for i, keys in enumerate(df.select(list(group)).rows()):
            parts.setdefault(keys, []).append(i)
        return [(keys, np.array(rows, dtype=np.int64)) for keys, rows in parts.items()]
    table = (
        df.select(list(group))
        .with_row_index("__row")
        .group_by(list(group), maintain_order=True)
        .agg(pl.col("__row"))
    )
    return [(tuple(r[:-1]), np.array(r[-1], dtype=np.int64)) for r in table.rows()]


def _positions(
    df: pl.DataFrame, lookups: list[tuple[str, _Sorted, str | None]]
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per lookup (value column, sorted peers, old-value column) and row: peers strictly
    below, peers equal and peer count, self-corrected when an old-value column is given
    (the firm's own fitted value is replaced by its new one). Loops over peer groups."""
    n_rows = df.height
    out = [
        (np.full(n_rows, np.nan), np.full(n_rows, np.nan), np.full(n_rows, np.nan)) for _ in lookups
    ]
    by_group: dict[tuple[str, ...], list[tuple[int, str, _Sorted, str | None]]] = {}
    for k, (value, table, old) in enumerate(lookups):
        by_group.setdefault(table.group, []).append((k, value, table, old))
    in_fit_all = (
        df.get_column(IN_FIT).fill_null(False).to_numpy()
        if IN_FIT in df.columns
        else np.zeros(n_rows, dtype=bool)
    )
    if n_rows == 1:  # one firm (what-if): scalars, two binary searches per lookup
        values = _position_values(df.row(0, named=True), lookups, bool(in_fit_all[0]))
        return [tuple(np.array([x]) for x in triple) for triple in values]  # type: ignore[misc]
    for group, group_lookups in by_group.items():
        names = list(
            dict.fromkeys(
                [v for _, v, _, _ in group_lookups] + [o for _, _, _, o in group_lookups if o]
            )
        )
        matrix = df.select(pl.col(names).cast(pl.Float64).fill_null(np.nan)).to_numpy()
        columns_all = {name: matrix[:, k] for k, name in enumerate(names)}
        for keys, rows in _group_rows(df, group):
            columns = {name: values[rows] for name, values in columns_all.items()}
            in_fit = in_fit_all[rows]
            for k, value, table, old in group_lookups:
                peers = table.values.get(keys, np.empty(0))
                v = columns[value]
                lo = np.searchsorted(peers, v, "left").astype(np.float64)
                eq = np.searchsorted(peers, v, "right") - lo
                n = np.full(v.shape, float(peers.size))
                if old:
                    # the firm's own fitted value leaves the peers; its new value joins them
                    o = columns[old]
                    had = in_fit & ~np.isnan(o)
                    lo = lo - (had & (o < v))
                    eq = eq - (had & (o == v)) + in_fit
                    n = n + (in_fit & np.isnan(o))
                valid = ~np.isnan(v) & (n > 0)
                below, equal, count = out[k]
                below[rows] = np.where(valid, lo, np.nan)
                equal[rows] = np.where(valid, eq, np.nan)
                count[rows] = np.where(valid, n, np.nan)
    return out


def _position_values(
    row: dict[str, Any], lookups: list[tuple[str, _Sorted, str | None]], in_fit: bool
) -> list[tuple[float, float, float]]:
    """`_positions` for a single row (a dict of its columns): the same arithmetic on Python
    floats, two binary searches per lookup; NaN where the row has no position."""
    out = []
    nan = float("nan")
    for value, table, old in lookups:
        keys = tuple(row[g] for g in table.group)
        peers = table.values.get(keys)
        v = row[value]
        v = nan if v is None else float(v)
        if peers is None:
            peers = np.empty(0)
        n = float(peers.size)
        lo = float(peers.searchsorted(v, "left"))
        eq = float(peers.searchsorted(v, "right")) - lo
        if old:
            o = row[old]
            o = nan if o is None else float(o)
            had = in_fit and o == o  # o == o: not NaN
            lo -= had and o < v
            eq = eq - (had and o == v) + in_fit
            n += in_fit and o != o
        valid = v == v and n > 0
        out.append((lo, eq, n) if valid else (nan, nan, nan))
    return out


@dataclass
class FittedModel:
    """A model fitted on a peer population: apply it to any rows with the peers fixed."""

    model: IndicatorModel
    key: tuple[str, ...]
    treatments: dict[str, TreatmentFit]
    group_tables: dict[tuple[str, ...], pl.DataFrame]  # per peer group: keys + st_* columns
    sorted_values: dict[str, _Sorted]  # per percentile/rank indicator
    sorted_totals: dict[str, _Sorted]  # per ranking group
    sorted_negated_totals: dict[str, _Sorted]  # the same, negated (for descending ranks)
    baseline: pl.DataFrame  # key + directed values + total of every fitted firm
    scores: pl.DataFrame  # the fit population's own scores
    data_hash: str
    _layers: tuple[_Recorder, _Recorder, frozenset[str]] | None = field(default=None, repr=False)
    # first key column → baseline row (built on the first what-if; `replace` resets it)
    _baseline_rows: dict[Any, int] | None = field(default=None, init=False, repr=False)
    # the later stages for one row in Python floats (False: the model needs the layers)
    _row_scorer: Any = field(default=None, init=False, repr=False)

    def _own_baseline(self, firms: pl.Series) -> pl.DataFrame:
        """The baseline rows of these firms (first key column), in baseline order."""
        if firms.len() > 256:
            return self.baseline.filter(pl.col(firms.name).is_in(firms.implode()))
        if self._baseline_rows is None:
            keys = self.baseline.get_column(firms.name).to_list()
            rows = dict(zip(keys, range(len(keys)), strict=True))
            self._baseline_rows = rows if len(rows) == len(keys) else {}
        if not self._baseline_rows and self.baseline.height:
            return self.baseline.filter(pl.col(firms.name).is_in(firms.implode()))
        found = sorted(
            {self._baseline_rows[k] for k in firms.to_list() if k in self._baseline_rows}
        )
        return self.baseline[found] if found else self.baseline.clear()

    def apply(self, frame: pl.DataFrame | pl.LazyFrame, *, explain: bool = False) -> ScoreResult:
        """Score rows against the fitted peers (rows of the fit population reproduce `score`)."""
        return self._apply(frame, explain=explain, correct_self=False)

    def what_if(
        self,
        rows: pl.DataFrame,
        changes: dict[str, Any] | None = None,
        *,
        explain: bool = False,
    ) -> ScoreResult:
        """Re-score firms with changed values, peers fixed.

        `rows` are the firms' rows (usually from the fitted data); `changes` maps field
        codes to new values (applied to every row), or pass already-changed rows. For
        firms of the fit population their own old value is replaced by the new one in
        percentile, rank and total-rank peer counts.
        """
        if changes:
            rows = rows.with_columns(pl.lit(v).alias(k) for k, v in changes.items())
        return self._apply(rows, explain=explain, correct_self=True)

    def _apply(
        self, frame: pl.DataFrame | pl.LazyFrame, *, explain: bool, correct_self: bool
    ) -> ScoreResult:
        model = self.model
        df = prepare(frame, model, self.key)
        key = _key(df, self.key)
        if correct_self:
            own = self._own_baseline(df.get_column(key[0]).unique())
            df = df.join(own, on=key, how="left", maintain_order="left")
        for group, table in self.group_tables.items():
            if group:
                df = df.join(
                    table, on=list(group), how="left", nulls_equal=True, maintain_order="left"
                )
            else:
                df = df.join(table, how="cross", maintain_order="left")
        stats = _FittedStats()
        if self._layers is None:
            before = _treated(
                _input_stages(_Recorder(), model, stats, dict(df.schema)), model, self.treatments
            )
            after = _points(_aggregated(_normalised(_Recorder(), model, stats), model), model)
            groups = {c for g in model.doc.ranking.values() for c in g}
            # what the steps after the `after` layers read (scores frame, total ranks)
            later = {*self.key, "name", "zone", "industry_section", model.doc.stage_field}
            later |= {ALL, STAGE_INDEX, IN_FIT, col("old", "__total"), *groups}
            ordinal = [p for p in _plans(model) if p.ind.method.kind == "ordinal"]
            if ordinal:  # the one-row scorer reads ordinal scores from the input layers
                before.with_columns(
                    _method_score(p, model, stats).alias(col("ord", p.ind.id)) for p in ordinal
                )
            self._layers = (before, after, after.inputs() | later)
        before, after, after_inputs = self._layers
        lf = before.replay(df.lazy())
        work = lf.collect(optimizations=_SMALL if df.height < 1000 else pl.QueryOptFlags())
        if work.height == 1 and not explain and self._scorer() is not None:
            return self._apply_one(work, key, correct_self)
        lookups = [
            (col("dir", ident), table, col("old", ident) if correct_self else None)
            for ident, table in self.sorted_values.items()
        ]
        positions = []
        for ident, (below, equal, count) in zip(
            self.sorted_values, _positions(work, lookups), strict=True
        ):
            stats_made = {
                col("st_below_half", ident): below + 0.5 * equal,
                col("st_below", ident): below,
                col("st_n", ident): count,
            }
            positions += [
                pl.Series(name, values, nan_to_null=True)
                for name, values in stats_made.items()
                if explain or name in after_inputs
            ]
        if not explain:  # a narrower frame plans faster (what-ifs are mostly planning)
            work = work.select(c for c in work.columns if c in after_inputs)
        if positions:
            work = work.with_columns(positions)
        lf = after.replay(work.lazy())
        work = lf.collect(optimizations=_SMALL if df.height < 1000 else pl.QueryOptFlags())
        work = work.with_columns((-pl.col("total")).alias("__neg_total"))
        if correct_self:
            work = work.with_columns((-pl.col(col("old", "__total"))).alias("__old_neg_total"))
        lookups = [
            ("__neg_total", negated, "__old_neg_total" if correct_self else None)
            for negated in self.sorted_negated_totals.values()
        ]
        rank_cols = []
        for name, (above, _eq, n) in zip(
            self.sorted_totals, _positions(work, lookups), strict=True
        ):
            rank_cols += [
                pl.Series(f"rank_{name}", above + 1, nan_to_null=True).cast(pl.Int64),
                pl.Series(f"n_{name}", n, nan_to_null=True).cast(pl.Int64),
            ]
        # the same lazy plan and optimiser as the batch path, so the bits agree
        work = (
            work.with_columns(rank_cols)
            .lazy()
            .with_columns(_pct_expr(name).alias(f"pct_{name}") for name in self.sorted_totals)
            .with_columns(_band_expr(model).alias("band"))
            .collect()
        )
        if explain:
            work = work.with_columns(
                pl.col(col("st_med", p.ind.id)).alias(col("med", p.ind.id))
                for p in _plans(model)
                if col("st_med", p.ind.id) in work.columns
            )
        explanation = explanation_frame(work, model, key) if explain else None
        return ScoreResult(
            _scores_frame(work, model, key),
            model.hash,
            self.data_hash,
            run_hash(model.hash, self.data_hash),
            explanation,
            self.treatments,
        )

    def _scorer(self) -> Any:
        """The model's one-row scorer, or None when the model needs the Polars layers."""
        if self._row_scorer is None:
            from innopoints.engine.scoring.rowwise import RowScorer

            supported = RowScorer.supports(self.model)
            self._row_scorer = RowScorer(self.model) if supported else False
        return self._row_scorer or None

    def _apply_one(self, work: pl.DataFrame, key: list[str], correct_self: bool) -> ScoreResult:
        """`_apply` for one row after the input layers: the later stages in Python floats
        (`RowScorer`), then ranks, percentiles and band; the same bits as the layers."""
        model = self.model
        row = work.row(0, named=True)
        in_fit = bool(row.get(IN_FIT) or False)
        lookups = [
            (col("dir", ident), table, col("old", ident) if correct_self else None)
            for ident, table in self.sorted_values.items()
        ]
        for ident, (below, equal, count) in zip(
            self.sorted_values, _position_values(row, lookups, in_fit), strict=True
        ):
            valid = count == count
            row[col("st_below_half", ident)] = below + 0.5 * equal if valid else None
            row[col("st_below", ident)] = below if valid else None
            row[col("st_n", ident)] = count if valid else None
        values = self._scorer().run(row)
        total = values["total"]
        old_total = row.get(col("old", "__total")) if correct_self else None
        row["__neg_total"] = None if total is None else -total
        row["__old_neg_total"] = None if old_total is None else -old_total
        lookups = [
            ("__neg_total", negated, "__old_neg_total" if correct_self else None)
            for negated in self.sorted_negated_totals.values()
        ]
        for name, (above, _equal, count) in zip(
            self.sorted_totals, _position_values(row, lookups, in_fit), strict=True
        ):
            valid = count == count  # not NaN
            rank, n = (int(above) + 1, int(count)) if valid else (None, None)
            values[f"rank_{name}"], values[f"n_{name}"] = rank, n
            values[f"pct_{name}"] = (200 * (n - rank) + 100) / (2 * n) if valid else None  # type: ignore[operator]
        values["band"] = _band_value(model, values)
        input_types = work.schema
        columns = output_columns(model, key, list(input_types))
        schema = {
            _output_name(name): input_types[name]
            if name not in values
            else _ONE_ROW_TYPES.get(name.split("_", 1)[0], pl.Float64)
            for name in columns
        }
        data = [tuple(values[name] if name in values else row[name] for name in columns)]
        scores = pl.DataFrame(data, schema=schema, orient="row")
        return ScoreResult(
            scores,
            model.hash,
            self.data_hash,
            run_hash(model.hash, self.data_hash),
            None,
            self.treatments,
        )


_ONE_ROW_TYPES = {"rank": pl.Int64, "n": pl.Int64, "band": pl.String}


def _output_name(column: str) -> str:
    """The scores frame's name of a work column (`pts:x` → `pts_x`)."""
    return "pts_" + column.split(":", 1)[1] if column.startswith("pts:") else column


def _band_value(model: IndicatorModel, values: dict[str, Any]) -> str | None:
    """`_band_expr` for one row."""
    group = model.doc.bands.group
    rank, count = values.get(f"rank_{group}"), values.get(f"n_{group}")
    if rank is None or count is None:
        return None
    top = rank / count
    for level in model.doc.bands.levels:
        if top <= level.top:
            return level.code
    return None


def fit(
    frame: pl.DataFrame | pl.LazyFrame, model: IndicatorModel, *, key: Sequence[str] = DEFAULT_KEY
) -> FittedModel:
    """Fit the model's peer statistics on one cross-section (the peers stay fixed afterwards)."""
    df = prepare(frame, model, key)
    if "year" in df.columns and df.get_column("year").n_unique() > 1:
        raise DataError("fit one year at a time (filter the panel by year first)")
    key = _key(df, key)
    lf, fits = _work_batch(df, model)
    work = _with_ranks(_with_peer_medians(lf, model).collect(), model)
    aggs_by_group: dict[tuple[str, ...], list[pl.Expr]] = {}
    sorted_values: dict[str, _Sorted] = {}
    for plan in _plans(model):
        ident = plan.ind.id
        directed = pl.col(col("dir", ident))
        den = pl.col(col("den", ident))
        if plan.missing.policy in ("impute_mean", "impute_median"):
            stat = _ordered_mean(den) if plan.missing.policy == "impute_mean" else den.median()
            aggs_by_group.setdefault(plan.impute_group, []).append(stat.alias(col("st_imp", ident)))
        aggs = [den.median().alias(col("st_med", ident))]
        kind = plan.ind.method.kind
        if kind == "minmax":
            aggs += [
                directed.min().alias(col("st_min", ident)),
                directed.max().alias(col("st_max", ident)),
            ]
        elif kind == "zscore":
            aggs += [
                _ordered_mean(directed).alias(col("st_mean", ident)),
                _ordered_std(directed).alias(col("st_std", ident)),
            ]
        aggs_by_group.setdefault(plan.peer_group, []).extend(aggs)
        if kind in SORTED_STATS:
            sorted_values[ident] = _sorted_by_group(work, col("dir", ident), plan.peer_group)
    group_tables = {
        group: (
            work.group_by(list(group), maintain_order=True).agg(aggs)
            if group
            else work.select(aggs)
        )
        for group, aggs in aggs_by_group.items()
    }
    sorted_totals = {
        name: _sorted_by_group(work, "total", group) for name, group in model.doc.ranking.items()
    }
    baseline = work.select(
        *key,
        *[
            pl.col(col("dir", p.ind.id)).alias(col("old", p.ind.id))
            for p in _plans(model)
            if p.ind.id in sorted_values
        ],
        pl.col("total").alias(col("old", "__total")),
        pl.lit(True).alias(IN_FIT),
    )
    data_hash = frame_hash(df.select(sorted(model_columns(model) | set(key))))
    return FittedModel(
        model,
        tuple(key),
        fits,
        group_tables,
        sorted_values,
        sorted_totals,
        {
            name: _Sorted(t.group, {k: -v[::-1] for k, v in t.values.items()})
            for name, t in sorted_totals.items()
        },
        baseline,
        _scores_frame(work, model, key),
        data_hash,
    )
