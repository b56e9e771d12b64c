"""Read-side computations of scoring: a model's hierarchy as a table, one firm's
explanation in a run (re-scored on demand and checked against the run hash), and the
comparison of two runs (who moved, and which indicators moved them).

Nothing here writes; pages and the API call these after the access checks.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import polars as pl

from innopoints.engine.scoring import IndicatorModel, diff_models, score
from innopoints.scoring.actions import model_of, year_frame
from innopoints.scoring.models import FirmScore, ModelVersion, ScoringRun
from innopoints.zones.models import Zone

# ---------------------------------------------------------------------------- model hierarchy


def _method_summary(method: Any) -> str:
    kind = method.kind
    if kind == "reference":
        return f"reference: {method.reference}"
    if kind == "segments":
        parts = []
        for seg in method.segments or []:
            lower = "−∞" if seg.lower is None else f"{seg.lower:g}"
            upper = "∞" if seg.upper is None else f"{seg.upper:g}"
            parts.append(f"[{lower}, {upper}) → {seg.points:g}")
        return "segments: " + "; ".join(parts)
    if kind == "goalposts":
        return f"goalposts: {method.worst:g} → {method.best:g}"
    if kind == "ordinal":
        return "ordinal: " + ", ".join(f"{k}={v:g}" for k, v in (method.map or {}).items())
    if kind == "zscore":
        return f"zscore (±{method.clip:g} sd)"
    group = f" within {'+'.join(method.group)}" if method.group else ""
    return f"{kind}{group}"


def hierarchy_rows(model: IndicatorModel, lang: str) -> list[dict[str, Any]]:
    """The model's nodes and indicators top-down, each with its weight per stage."""
    stages = list(model.stage_codes)
    default_missing = model.doc.defaults.missing.policy
    rows: list[dict[str, Any]] = []

    def name(item: Any) -> str:
        return item.name.en if lang == "en" else item.name.zh

    def walk(node_id: str, depth: int) -> None:
        node = model.node(node_id)
        rows.append(
            {
                "kind": "node",
                "depth": depth,
                "indent": depth * 1.5,
                "id": node.id,
                "name": name(node),
                "weights": [model.weight(node, s) for s in stages] if node.parent else [],
                "method": node.aggregation.method,
                "field": "",
                "missing": "",
            }
        )
        for child in model.children(node_id):
            if hasattr(child, "field"):
                rows.append(
                    {
                        "kind": "indicator",
                        "depth": depth + 1,
                        "indent": (depth + 1) * 1.5,
                        "id": child.id,
                        "name": name(child),
                        "weights": [model.weight(child, s) for s in stages],
                        "method": _method_summary(child.method)
                        + (" · log" if child.transform.log else "")
                        + (" · treated" if child.transform.treat else ""),
                        "field": child.field
                        + (f" ÷ {child.denominator}" if child.denominator else "")
                        + (" (−)" if child.direction == -1 else ""),
                        "unit": child.unit,
                        "missing": child.missing.policy if child.missing else default_missing,
                    }
                )
            else:
                walk(child.id, depth + 1)

    walk(model.root.id, 0)
    return rows


def stage_labels(model: IndicatorModel, lang: str) -> list[tuple[str, str]]:
    """(code, name) of the model's stages."""
    return [(s.code, s.en if lang == "en" else s.zh) for s in model.stage_scheme.stages]


def version_diff(old: ModelVersion, new: ModelVersion) -> list[dict[str, str]]:
    """The differences between two stored versions as readable rows."""

    def show(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return str(value)

    return [
        {"path": path, "old": show(a), "new": show(b)}
        for path, a, b in diff_models(model_of(old), model_of(new))
    ]


# ---------------------------------------------------------------------------- explanation

_EXPLAIN_CACHE: OrderedDict[tuple, tuple[pl.DataFrame, str, str]] = OrderedDict()
_EXPLAIN_LOCK = Lock()
_EXPLAIN_CACHE_SIZE = 4


@dataclass
class FirmExplanation:
    """One firm's breakdown in a run, recomputed from the current data."""

    rows: list[dict[str, Any]]
    missing: list[dict[str, Any]]
    data_changed: bool
    recomputed_run_hash: str
    recomputed_data_hash: str
    in_current_data: bool
    extras: list[dict[str, Any]] = field(default_factory=list)


def _explanation_for_run(run: ScoringRun) -> tuple[pl.DataFrame, str, str]:
    """The explanation frame of a run's population re-scored now (cached per run and data)."""
    zone = Zone.objects.get(pk=run.zone_id)
    key = (run.pk, run.created_at, zone.pk, zone.data_version)
    with _EXPLAIN_LOCK:
        if key in _EXPLAIN_CACHE:
            _EXPLAIN_CACHE.move_to_end(key)
            return _EXPLAIN_CACHE[key]
    frame = year_frame(zone, run.year)
    if frame.is_empty():
        value = (pl.DataFrame(schema={"uscc": pl.String}), "", "")
    else:
        result = score(frame, model_of(run.model_version), explain=True)
        value = (result.explanation, result.run_hash, result.data_hash)
    with _EXPLAIN_LOCK:
        _EXPLAIN_CACHE[key] = value
        while len(_EXPLAIN_CACHE) > _EXPLAIN_CACHE_SIZE:
            _EXPLAIN_CACHE.popitem(last=False)
    return value


def explain_firm(run: ScoringRun, uscc: str, lang: str = "zh") -> FirmExplanation:
    """Each indicator's raw value, normalised value, peer median, points and contribution
    for one firm, and the missing indicators with their treatment.

    The run's population is re-scored with explanations; if the recomputed run hash
    differs from the stored one, the data changed since the run (`data_changed`).
    """
    explanation, run_hash, data_hash = _explanation_for_run(run)
    model = model_of(run.model_version)
    names = {i.id: (i.name.en if lang == "en" else i.name.zh) for i in model.doc.indicators}
    names |= {
        i.id: (i.name.en if lang == "en" else i.name.zh)
        for i in [*model.doc.bonus, *model.doc.negative]
    }
    parents = {n.id: (n.name.en if lang == "en" else n.name.zh) for n in model.doc.nodes}
    fields = {i.id: i.field for i in model.doc.indicators}
    order = {i.id: k for k, i in enumerate(model.doc.indicators)}
    mine = (
        explanation.filter(pl.col("uscc") == uscc)
        if "item" in explanation.columns
        else explanation.head(0)
    )
    rows, extras = [], []
    for row in mine.iter_rows(named=True):
        row = dict(row)
        row["name"] = names.get(row["item"], row["item"])
        row["field"] = fields.get(row["item"], "")
        row["parent_name"] = parents.get(row["parent"] or "", row["parent"] or "")
        (rows if row["kind"] == "indicator" else extras).append(row)
    rows.sort(key=lambda r: order.get(r["item"], 0))
    return FirmExplanation(
        rows=rows,
        missing=[r for r in rows if r["missing"]],
        data_changed=bool(run.run_hash) and run_hash != run.run_hash,
        recomputed_run_hash=run_hash,
        recomputed_data_hash=data_hash,
        in_current_data=bool(rows),
        extras=extras,
    )


def clear_explanation_cache() -> None:
    """Forget cached explanations (tests)."""
    with _EXPLAIN_LOCK:
        _EXPLAIN_CACHE.clear()


# ---------------------------------------------------------------------------- comparison

_SCORE_SCHEMA = {
    "enterprise_id": pl.Int64,
    "uscc": pl.String,
    "name": pl.String,
    "total": pl.Float64,
    "rank": pl.Int64,
    "band": pl.String,
}


def _run_frames(run: ScoringRun) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A run's scores (one row per firm) and its indicator points (long form)."""
    rows = list(
        FirmScore.objects.filter(run=run).values_list(
            "enterprise_id",
            "enterprise__uscc",
            "enterprise__name",
            "total",
            "rank_zone",
            "band",
            "indicator_points",
        )
    )
    scores = pl.DataFrame([r[:6] for r in rows], schema=_SCORE_SCHEMA, orient="row")
    points = pl.DataFrame(
        [(r[0], item, value) for r in rows for item, value in (r[6] or {}).items()],
        schema={"enterprise_id": pl.Int64, "item": pl.String, "points": pl.Float64},
        orient="row",
    )
    return scores, points


def compare_runs(old: ScoringRun, new: ScoringRun, reasons: int = 3) -> pl.DataFrame:
    """Who moved between two runs: rank and total change, and the indicators whose points
    changed most for each firm (`why`: a list of {item, old, new, delta}).

    Firms in only one run are included with nulls on the other side. Sorted by the size
    of the rank change, then of the total change.
    """
    a_scores, a_points = _run_frames(old)
    b_scores, b_points = _run_frames(new)
    joined = a_scores.join(
        b_scores, on="enterprise_id", how="full", coalesce=True, suffix="_new"
    ).select(
        "enterprise_id",
        pl.coalesce("uscc_new", "uscc").alias("uscc"),
        pl.coalesce("name_new", "name").alias("name"),
        pl.col("total").alias("total_old"),
        pl.col("total_new"),
        pl.col("rank").alias("rank_old"),
        pl.col("rank_new"),
        pl.col("band").alias("band_old"),
        pl.col("band_new"),
    )
    joined = joined.with_columns(
        (pl.col("total_new") - pl.col("total_old")).alias("total_change"),
        (pl.col("rank_old") - pl.col("rank_new")).alias("rank_change"),  # > 0: moved up
    )
    deltas = (
        a_points.join(
            b_points, on=["enterprise_id", "item"], how="full", coalesce=True, suffix="_new"
        )
        .with_columns(
            pl.col("points").alias("old"),
            pl.col("points_new").alias("new"),
            (pl.col("points_new").fill_null(0.0) - pl.col("points").fill_null(0.0)).alias("delta"),
        )
        .filter(pl.col("delta").abs() > 1e-9)
        .sort(["enterprise_id", pl.col("delta").abs()], descending=[False, True])
        .group_by("enterprise_id", maintain_order=True)
        .head(reasons)
        .group_by("enterprise_id", maintain_order=True)
        .agg(pl.struct("item", "old", "new", "delta").alias("why"))
    )
    out = joined.join(deltas, on="enterprise_id", how="left")
    return out.sort(
        [pl.col("rank_change").abs(), pl.col("total_change").abs(), "uscc"],
        descending=[True, True, False],
        nulls_last=True,
    )


def moved(comparison: pl.DataFrame) -> pl.DataFrame:
    """Only the firms whose rank or total changed, or that are in one run only."""
    return comparison.filter(
        (pl.col("rank_change").fill_null(1) != 0)
        | (pl.col("total_change").fill_null(1).abs() > 1e-9)
    )
