"""Sensitivity of ranks to the modelling choices: Monte-Carlo and drop-one-indicator.

Monte-Carlo: each run draws every weight (indicators and nodes, every stage) from
weight × U(1 − share, 1 + share), one normalisation scheme and one missing-data policy.
Normalised scores are computed once per (scheme, policy) variant; runs are then batched:
one Polars query aggregates and ranks `batch` runs at a time. Each firm gets the 5th, 50th
and 95th percentile of its rank and a stability flag (interval width ≤ `stable_share` of
its peer group).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from innopoints.engine.scoring.model import IndicatorModel, ModelDocument, canonical_form
from innopoints.engine.scoring.pipeline import (
    DEFAULT_KEY,
    _aggregate,
    _BatchStats,
    _bonus_negative_columns,
    _input_stages,
    _key,
    _normalised,
    _treated,
    col,
    fit_treatments,
    prepare,
    scale_of,
    score,
    stage_value,
    total_expr,
)

CONTINUOUS = {"reference", "percentile", "minmax", "zscore", "goalposts", "rank"}


@dataclass(frozen=True)
class SensitivityResult:
    """Per firm: nominal rank, rank percentiles over the runs, interval width, stability."""

    ranks: pl.DataFrame
    runs: int
    variants: list[tuple[str, str]]


def _variant_model(model: IndicatorModel, method: str, policy: str) -> IndicatorModel:
    data = canonical_form(model.doc)
    for ind in data["indicators"]:
        if method != "model" and ind["method"]["kind"] in CONTINUOUS:
            ind["method"] = {"kind": method, "group": ind["method"].get("group")}
        if policy != "model":
            ind["missing"] = {"policy": policy, "group": (ind.get("missing") or {}).get("group")}
    doc = ModelDocument.model_validate(data)
    return IndicatorModel(doc, model.stage_scheme, model.fields, model.hash)


def _normalised_frame(df: pl.DataFrame, model: IndicatorModel) -> pl.DataFrame:
    stats = _BatchStats()
    lf = _input_stages(df.lazy(), model, stats, dict(df.schema))
    fits = {}
    if any(i.transform.treat is not None for i in model.doc.indicators):
        imputed = lf.collect()
        fits = fit_treatments(imputed, model)
        lf = imputed.lazy()
    lf = _normalised(_treated(lf, model, fits), model, stats)
    return lf.select(col("nrm", i.id) for i in model.doc.indicators).collect()


def _run_columns(
    model: IndicatorModel, run: int, factors: dict[str, float], variant: int, group: Sequence[str]
) -> list[list[pl.Expr]]:
    """Expression layers computing run `run`'s rank (weights scaled by `factors`)."""

    def name(ident: str) -> str:
        if any(i.id == ident for i in model.doc.indicators):
            return f"v{variant}:{ident}"
        return f"r{run}:{ident}"

    def weight(item: Any) -> pl.Expr:
        return stage_value(
            model,
            {
                code: model.weight(item, code) * factors.get(f"{item.id}@{code}", 1.0)
                for code in model.stage_codes
            },
        )

    layers = [
        [_aggregate(node, model, name, weight).alias(name(node.id))]
        for node in model.nodes_bottom_up()
    ]
    base = pl.col(name(model.root.id)) * scale_of(model)
    total = total_expr(model, base)
    rank = total.rank("min", descending=True)
    layers.append([(rank.over(list(group)) if group else rank).alias(f"rank#{run}")])
    return layers


def sensitivity(
    frame: pl.DataFrame | pl.LazyFrame,
    model: IndicatorModel,
    *,
    runs: int = 100,
    weight_share: float = 0.25,
    methods: Sequence[str] = ("model", "percentile", "minmax"),
    missing_policies: Sequence[str] = ("model", "zero", "impute_median"),
    group: str | None = None,
    stable_share: float = 0.1,
    seed: int = 0,
    batch: int = 25,
    key: Sequence[str] = DEFAULT_KEY,
) -> SensitivityResult:
    """Rank intervals (5th–95th percentile) of every firm under Monte-Carlo perturbation."""
    df = prepare(frame, model, key)
    key = _key(df, key)
    group_name = group or model.doc.bands.group
    rank_group = model.doc.ranking[group_name]
    variants = list(itertools.product(methods, missing_policies))
    base = df.with_columns(_bonus_negative_columns(model))
    for v, (method, policy) in enumerate(variants):
        normalised = _normalised_frame(df, _variant_model(model, method, policy))
        base = base.with_columns(
            normalised.get_column(col("nrm", i.id)).alias(f"v{v}:{i.id}")
            for i in model.doc.indicators
        )
    rng = np.random.default_rng(seed)
    items = [*model.doc.indicators, *[n for n in model.doc.nodes if n.parent is not None]]
    rank_matrix = np.empty((df.height, runs), dtype=np.float64)
    for start in range(0, runs, batch):
        stop = min(runs, start + batch)
        layers: list[list[pl.Expr]] = []
        for run in range(start, stop):
            factors = {
                f"{item.id}@{stage}": float(rng.uniform(1 - weight_share, 1 + weight_share))
                for item in items
                for stage in model.stage_codes
            }
            variant = int(rng.integers(len(variants)))
            run_layers = _run_columns(model, run, factors, variant, rank_group)
            for depth, exprs in enumerate(run_layers):
                if depth >= len(layers):
                    layers.append([])
                layers[depth].extend(exprs)
        lf = base.lazy()
        for exprs in layers:
            lf = lf.with_columns(exprs)
        ranks = lf.select(f"rank#{r}" for r in range(start, stop)).collect()
        rank_matrix[:, start:stop] = ranks.cast(pl.Float64).fill_null(np.nan).to_numpy()
    nominal = score(df, model, key=key, hash_data=False).scores
    p05, p50, p95 = np.nanpercentile(rank_matrix, [5, 50, 95], axis=1)
    out = nominal.select(
        *key,
        pl.col(f"rank_{group_name}").alias("rank"),
        pl.col(f"n_{group_name}").alias("n"),
    ).with_columns(
        pl.Series("rank_p05", p05),
        pl.Series("rank_p50", p50),
        pl.Series("rank_p95", p95),
    )
    out = out.with_columns((pl.col("rank_p95") - pl.col("rank_p05")).alias("rank_width"))
    out = out.with_columns(
        (pl.col("rank_width") <= (stable_share * pl.col("n")).clip(lower_bound=1.0)).alias("stable")
    )
    return SensitivityResult(out, runs, variants)


def drop_one(
    frame: pl.DataFrame | pl.LazyFrame,
    model: IndicatorModel,
    *,
    group: str | None = None,
    key: Sequence[str] = DEFAULT_KEY,
) -> pl.DataFrame:
    """For each indicator: how ranks move when it is dropped (its weight set to 0)."""
    df = prepare(frame, model, key)
    group_name = group or model.doc.bands.group
    rank_group = model.doc.ranking[group_name]
    base = df.with_columns(_bonus_negative_columns(model))
    normalised = _normalised_frame(df, model)
    base = base.with_columns(
        normalised.get_column(col("nrm", i.id)).alias(f"v0:{i.id}") for i in model.doc.indicators
    )
    indicators = model.doc.indicators
    layers: list[list[pl.Expr]] = []
    for run in range(len(indicators) + 1):
        dropped = indicators[run - 1].id if run else None
        factors = {f"{dropped}@{s}": 0.0 for s in model.stage_codes} if dropped else {}
        for depth, exprs in enumerate(_run_columns(model, run, factors, 0, rank_group)):
            if depth >= len(layers):
                layers.append([])
            layers[depth].extend(exprs)
    lf = base.lazy()
    for exprs in layers:
        lf = lf.with_columns(exprs)
    ranks = lf.select(f"rank#{r}" for r in range(len(indicators) + 1)).collect()
    nominal = ranks.get_column("rank#0").cast(pl.Float64)
    rows = []
    for k, ind in enumerate(indicators, start=1):
        shift = (ranks.get_column(f"rank#{k}").cast(pl.Float64) - nominal).abs()
        rows.append(
            {
                "indicator": ind.id,
                "mean_abs_rank_change": float(shift.mean() or 0.0),
                "max_abs_rank_change": float(shift.max() or 0.0),
                "share_of_firms_moved": float((shift > 0).mean() or 0.0),
            }
        )
    return pl.DataFrame(rows).sort("mean_abs_rank_change", descending=True, maintain_order=True)
