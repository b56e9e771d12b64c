"""Read side of the portrait (一企一像): everything one page, its PDF and the API show.

`build_portrait(enterprise, year, lang)` returns a JSON-able dict: identity, the stored
score of the firm's latest finished run of that year (total, band, ranks, percentiles),
the rank interval from the sensitivity analysis, class scores against the peer median,
the indicator table with strengths and weaknesses, trends over the years, guidance
(next band, cheapest single changes, near-misses, missing data), the data sources and
the run it came from.

Per run (and zone data version) the population is scored once with explanations, the
model fitted for what-ifs, indicator percentiles computed in one Polars pass, and the
sensitivity analysis run once (`RunContext`, cached); one firm's portrait is then a few
look-ups and one batched what-if. Nothing here writes; callers check access first.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.utils import timezone

from innopoints.engine.rules import DataError as RulesDataError
from innopoints.engine.rules import evaluate, official_criteria
from innopoints.engine.scoring import FittedModel, IndicatorModel, fit, score, sensitivity
from innopoints.enterprises.panel import zone_frames
from innopoints.portrait import guidance
from innopoints.portrait.models import Correction
from innopoints.scoring.actions import model_of, year_frame
from innopoints.scoring.models import FirmScore, ScoringRun
from innopoints.standard.catalogue import (
    QUALIFICATION_TYPES,
    STANDARD_FIELDS,
    Kind,
)
from innopoints.standard.codes import section_label

SENSITIVITY_RUNS = 50
KEY_FIELDS = (
    "revenue",
    "rd_expense",
    "rd_intensity",
    "net_profit",
    "tax_paid",
    "staff_total",
    "invention_patents",
    "class1_ip",
)
STRENGTHS = 3


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _name(item: Any, lang: str) -> str:
    return item.name.en if lang == "en" else item.name.zh


def field_label(code: str, lang: str) -> str:
    """A field's name in `lang`, the code when it is not in the standard."""
    f = STANDARD_FIELDS.get(code)
    return f.label(lang) if f else code


def field_kind(code: str) -> str:
    """A field's kind (money, ratio, int, ...) for display."""
    f = STANDARD_FIELDS.get(code)
    return f.kind.value if f else "number"


# ---------------------------------------------------------------------------- run context


@dataclass
class RunContext:
    """What one run's population gives every portrait of that run (computed once)."""

    model: IndicatorModel
    frame: pl.DataFrame
    scores: pl.DataFrame
    explanation: pl.DataFrame  # indicator rows with `pct` (percentile among peers)
    extras: pl.DataFrame  # bonus and negative rows
    fitted: FittedModel
    run_hash: str
    data_hash: str
    class_medians: pl.DataFrame  # per peer group: median points of each top-level class
    _sensitivity: pl.DataFrame | None = None
    _near_misses: dict[str, pl.DataFrame] = field(default_factory=dict)
    _peers: dict[tuple, np.ndarray] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def peer_values(self, item: str, group: tuple) -> np.ndarray:
        """Sorted values of one indicator among the firms of one peer group (memoised)."""
        key = (item, group)
        if key not in self._peers:
            rows = self.explanation.filter(pl.col("item") == item)
            for column, value in group:
                rows = rows.filter(pl.col(column).eq_missing(value))
            values = rows.get_column("value").drop_nulls().to_numpy().astype(float)
            self._peers[key] = np.sort(values)
        return self._peers[key]

    def near_misses(self, zone: Any, year: int, lang: str) -> pl.DataFrame:
        """The official criteria evaluated for every firm of the year (one pass per language)."""
        with self._lock:
            if lang not in self._near_misses:
                self._near_misses[lang] = _evaluate_criteria(self, zone, year, lang)
            return self._near_misses[lang]

    def sensitivity(self) -> pl.DataFrame:
        """Rank intervals of every firm (Monte-Carlo, computed on first use)."""
        with self._lock:
            if self._sensitivity is None:
                if self.frame.is_empty():
                    self._sensitivity = pl.DataFrame(schema={"uscc": pl.String})
                else:
                    self._sensitivity = sensitivity(
                        self.frame, self.model, runs=SENSITIVITY_RUNS
                    ).ranks
            return self._sensitivity


_CONTEXTS: OrderedDict[tuple, RunContext] = OrderedDict()
_CONTEXT_LOCK = Lock()
_CONTEXT_SIZE = 4


def _peer_group(model: IndicatorModel, ind: Any) -> list[str]:
    return list(ind.method.group if ind.method.group is not None else model.doc.defaults.peer_group)


def _percentiles(
    explanation: pl.DataFrame, groups: pl.DataFrame, model: IndicatorModel
) -> pl.DataFrame:
    """Indicator rows with `pct`: the mid-rank percentile of the value among the firms of
    the indicator's peer group that have a value (direction −1 counts lower as better)."""
    rows = explanation.filter(pl.col("kind") == "indicator").join(
        groups, on="uscc", how="left", maintain_order="left"
    )
    parts = []
    for ind in model.doc.indicators:
        group = [g for g in _peer_group(model, ind) if g in rows.columns]
        part = rows.filter(pl.col("item") == ind.id)
        value = pl.col("value")
        ranked = value.rank("average")
        count = value.count()
        if group:
            ranked, count = ranked.over(group), count.over(group)
        pct = 100.0 * (ranked - 0.5) / count
        if ind.direction == -1:
            pct = 100.0 - pct
        parts.append(part.with_columns(pct.alias("pct"), count.alias("peer_n")))
    if not parts:
        return rows.with_columns(
            pl.lit(None, pl.Float64).alias("pct"), pl.lit(None, pl.UInt32).alias("peer_n")
        )
    return pl.concat(parts, how="vertical_relaxed")


def _build_context(run: ScoringRun, zone: Any) -> RunContext:
    model = model_of(run.model_version)
    frame = year_frame(zone, run.year)
    if frame.is_empty():
        empty = pl.DataFrame(schema={"uscc": pl.String, "total": pl.Float64})
        return RunContext(
            model,
            frame,
            empty,
            pl.DataFrame(schema={"uscc": pl.String, "item": pl.String}),
            pl.DataFrame(schema={"uscc": pl.String, "item": pl.String}),
            None,  # type: ignore[arg-type]
            "",
            "",
            pl.DataFrame(),
        )
    result = score(frame, model, explain=True)
    fitted = fit(frame, model)
    group_columns = {g for ind in model.doc.indicators for g in _peer_group(model, ind)}
    from_scores = [c for c in group_columns if c in result.scores.columns]
    groups = result.scores.select("uscc", *from_scores)
    rest = [c for c in group_columns if c not in from_scores and c in frame.columns]
    if rest:
        groups = groups.join(frame.select("uscc", *rest), on="uscc", how="left")
    explanation = result.explanation
    indicators = _percentiles(explanation, groups, model)
    extras = explanation.filter(pl.col("kind") != "indicator")
    top = [n.id for n in model.doc.nodes if n.parent == model.root.id]
    peer = [g for g in model.doc.defaults.peer_group if g in result.scores.columns]
    medians = [pl.col(f"pts_{n}").median().alias(n) for n in top]
    class_medians = (
        result.scores.group_by(peer).agg(medians) if peer else result.scores.select(medians)
    )
    return RunContext(
        model,
        frame,
        result.scores,
        indicators,
        extras,
        fitted,
        result.run_hash,
        result.data_hash,
        class_medians,
    )


def run_context(run: ScoringRun, zone: Any) -> RunContext:
    """The cached context of a run for the zone's current data."""
    key = (
        connection.alias,
        connection.settings_dict.get("NAME"),
        run.pk,
        run.created_at,
        zone.pk,
        zone.data_version,
    )
    with _CONTEXT_LOCK:
        if key in _CONTEXTS:
            _CONTEXTS.move_to_end(key)
            return _CONTEXTS[key]
    context = _build_context(run, zone)
    with _CONTEXT_LOCK:
        _CONTEXTS[key] = context
        while len(_CONTEXTS) > _CONTEXT_SIZE:
            _CONTEXTS.popitem(last=False)
    return context


def clear_cache() -> None:
    """Forget cached run contexts and criteria (tests)."""
    with _CONTEXT_LOCK:
        _CONTEXTS.clear()
    _CRITERIA.clear()


_CRITERIA: dict[str, Any] = {}


def _criteria() -> list[Any]:
    if "official" not in _CRITERIA:
        _CRITERIA["official"] = official_criteria()
    return _CRITERIA["official"]


# ---------------------------------------------------------------------------- pieces


def latest_score(enterprise: Any, year: int) -> FirmScore | None:
    """The firm's score in the latest finished run of `year` (one query)."""
    return (
        FirmScore.objects.filter(
            enterprise=enterprise, year=year, run__status=ScoringRun.Status.DONE
        )
        .select_related("run", "run__model_version")
        .order_by("-run__created_at", "-run_id")
        .first()
    )


def portrait_years(enterprise: Any) -> list[int]:
    """Years with a finished run that scored the firm, newest first."""
    return sorted(
        set(
            FirmScore.objects.filter(
                enterprise=enterprise, run__status=ScoringRun.Status.DONE
            ).values_list("year", flat=True)
        ),
        reverse=True,
    )


def _max_points(model: IndicatorModel, stage: str) -> dict[str, float]:
    """Full points of every node and indicator in a stage (weights shared down the tree)."""
    scale = 100.0 if model.doc.scale == "open" else float(model.doc.scale)
    out = {model.root.id: scale}

    def walk(node_id: str) -> None:
        children = model.children(node_id)
        weights = [model.weight(c, stage) if stage in model.stage_codes else 1.0 for c in children]
        total = sum(weights) or 1.0
        for child, weight in zip(children, weights, strict=True):
            out[child.id] = out[node_id] * weight / total
            if not hasattr(child, "field"):
                walk(child.id)

    walk(model.root.id)
    return out


def _identity(enterprise: Any, row: dict[str, Any], stage: str, stage_name: str, lang: str):
    year_end = dt.date(int(row.get("year") or timezone.now().year), 12, 31)
    qualifications = []
    for q in enterprise.qualifications.order_by("-valid_from"):
        zh, en = QUALIFICATION_TYPES.get(q.type, (q.type, q.type))
        qualifications.append(
            {
                "type": q.type,
                "label": en if lang == "en" else zh,
                "certificate_no": q.certificate_no,
                "valid_from": q.valid_from.isoformat(),
                "valid_until": q.valid_until.isoformat() if q.valid_until else None,
                "valid_at_year_end": q.valid_on(year_end),
            }
        )
    section = enterprise.industry_section
    return {
        "name": enterprise.name,
        "uscc": enterprise.uscc,
        "zone": enterprise.zone.code,
        "zone_name": enterprise.zone.name,
        "industry_code": enterprise.industry_code,
        "industry_section": section,
        "industry_section_name": section_label(section, lang) if section else "",
        "stage": stage,
        "stage_name": stage_name,
        "age_years": row.get("age_years"),
        "registered_on": enterprise.registered_on.isoformat() if enterprise.registered_on else None,
        "listing_status": enterprise.get_listing_status_display(),
        "qualifications": qualifications,
    }


def _trends(enterprise: Any, zone: Any, lang: str) -> dict[str, Any]:
    """Points and rank per year (latest finished run of each year) and key indicators."""
    rows = (
        FirmScore.objects.filter(enterprise=enterprise, run__status=ScoringRun.Status.DONE)
        .order_by("year", "-run__created_at", "-run_id")
        .values_list(
            "year", "run_id", "total", "band", "rank_zone", "n_zone", "pct_zone", "rank_stage"
        )
    )
    seen: dict[int, dict[str, Any]] = {}
    for year, run_id, total, band, rank_zone, n_zone, pct_zone, rank_stage in rows:
        if year not in seen:
            seen[year] = {
                "year": year,
                "run": run_id,
                "total": _num(total),
                "band": band,
                "rank_zone": rank_zone,
                "n_zone": n_zone,
                "pct_zone": _num(pct_zone),
                "rank_stage": rank_stage,
            }
    panel = zone_frames(zone)
    derived = panel.get("derived")
    if derived is None:
        from innopoints.enterprises.panel import zone_derived

        derived = zone_derived(zone)
    mine = derived.filter(pl.col("uscc") == enterprise.uscc).sort("year")
    years = mine.get_column("year").to_list() if not mine.is_empty() else []
    indicators = [
        {
            "field": code,
            "label": field_label(code, lang),
            "kind": field_kind(code),
            "values": [_num(v) for v in mine.get_column(code).to_list()],
        }
        for code in KEY_FIELDS
        if code in mine.columns
    ]
    return {"scores": list(seen.values()), "years": years, "indicators": indicators}


def _sources(enterprise: Any) -> list[dict[str, Any]]:
    """The import batches the firm's current data came from (newest first)."""
    seen: dict[int, dict[str, Any]] = {}
    rows = enterprise.years.filter(import_batch__isnull=False).values_list(
        "year",
        "import_batch_id",
        "import_batch__file_name",
        "import_batch__sha256",
        "import_batch__created_at",
    )
    for year, batch_id, name, sha256, created in rows:
        entry = seen.setdefault(
            batch_id,
            {
                "batch": batch_id,
                "file_name": name,
                "sha256": sha256,
                "created_at": created.isoformat() if created else None,
                "years": [],
            },
        )
        entry["years"].append(year)
    if enterprise.import_batch_id and enterprise.import_batch_id not in seen:
        batch = enterprise.import_batch
        seen[batch.pk] = {
            "batch": batch.pk,
            "file_name": batch.file_name,
            "sha256": batch.sha256,
            "created_at": batch.created_at.isoformat(),
            "years": [],
        }
    return sorted(seen.values(), key=lambda s: s["created_at"] or "", reverse=True)


def _evaluate_criteria(context: RunContext, zone: Any, year: int, lang: str) -> pl.DataFrame:
    """Status, missing data and near-miss text of every official criterion for every firm."""
    frames = zone_frames(zone)
    from innopoints.enterprises.panel import zone_derived

    panel = zone_derived(zone)
    scores = context.scores
    if "year" not in scores.columns:
        scores = scores.with_columns(pl.lit(year).alias("year"))
    try:
        return evaluate(
            panel,
            _criteria(),
            year=year,
            lang=lang,
            scores=scores,
            qualifications=frames["qualifications"],
            negatives=frames["negatives"],
            near_miss=True,
        )
    except RulesDataError:
        return pl.DataFrame(schema={"uscc": pl.String, "criterion": pl.String})


def _near_misses(
    context: RunContext, zone: Any, uscc: str, year: int, lang: str
) -> list[dict[str, Any]]:
    """The official criteria for the firm-year: status, missing data and the smallest change.

    The pools' own results (stored by the pools app) are added by `pool_results`.
    """
    result = context.near_misses(zone, year, lang).filter(pl.col("uscc") == uscc)
    titles = {c.id: c.title(lang) for c in _criteria()}
    out = []
    for row in result.iter_rows(named=True):
        out.append(
            {
                "criterion": row["criterion"],
                "name": titles.get(row["criterion"], row["criterion"]),
                "status": row["status"],
                "near_miss": row.get("near_miss"),
                "blocked": row.get("near_miss_blocked"),
                "missing": [m.strip() for m in (row.get("missing") or "").split(",") if m.strip()],
            }
        )
    order = {"ineligible": 0, "unknown": 1, "eligible": 2}
    out.sort(key=lambda r: (order.get(r["status"], 3), bool(r["blocked"]), r["criterion"]))
    return out


# ---------------------------------------------------------------------------- portrait


def pool_results(user: Any, enterprise: Any, year: int, lang: str) -> list[dict[str, Any]] | None:
    """The firm's stored pool results of `year` through the pools app's access module, or
    None when that app does not offer them (then the official criteria are evaluated)."""
    try:
        from innopoints.pools import access as pools_access
    except ImportError:  # pragma: no cover - the pools app is optional
        return None
    memberships = getattr(pools_access, "firm_memberships", None)
    if memberships is None or user is None:
        return None
    out = []
    for m in memberships(user, enterprise).filter(year=year).select_related("pool"):
        out.append(
            {
                "pool": m.pool.name_en if lang == "en" else m.pool.name_zh,
                "criterion": m.pool.criterion,
                "member": m.member,
                "status": m.status,
                "near_miss": (m.near_miss_en if lang == "en" else m.near_miss) or None,
                "blocked": m.near_miss_blocked,
                "missing": [x.strip() for x in (m.missing or "").split(",") if x.strip()],
            }
        )
    return out


def build_portrait(
    enterprise: Any, year: int, lang: str = "zh", user: Any = None
) -> dict[str, Any]:
    """The whole portrait of one firm-year as JSON-able data (see the module docstring).

    With `user`, the firm's pool results that the user may read come from the pools app.
    """
    zone = enterprise.zone
    firm_score = latest_score(enterprise, year)
    out: dict[str, Any] = {
        "uscc": enterprise.uscc,
        "year": year,
        "lang": lang,
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "scored": firm_score is not None,
        "trends": _trends(enterprise, zone, lang),
        "sources": _sources(enterprise),
        "corrections": [
            {
                "id": c.pk,
                "year": c.year,
                "field": c.field,
                "field_label": field_label(c.field, lang),
                "old_value": c.old_value,
                "new_value": c.new_value,
                "status": c.status,
                "submitted_at": c.submitted_at.isoformat(timespec="seconds"),
                "reason": c.reason,
            }
            for c in Correction.objects.filter(enterprise=enterprise).order_by("-submitted_at")[:20]
        ],
    }
    if firm_score is None:
        row = _panel_row(zone, enterprise.uscc, year)
        out["identity"] = _identity(enterprise, row, row.get("stage") or "", "", lang)
        return out
    run = firm_score.run
    context = run_context(run, zone)
    model = context.model
    stage = firm_score.stage
    stage_name = next(
        (s.en if lang == "en" else s.zh for s in model.stage_scheme.stages if s.code == stage),
        stage,
    )
    frame_row = context.frame.filter(pl.col("uscc") == enterprise.uscc)
    row = frame_row.row(0, named=True) if not frame_row.is_empty() else {"year": year}
    out["identity"] = _identity(enterprise, row, stage, stage_name, lang)
    out["identity"]["pools"] = []
    band_names = {b.code: _name(b, lang) for b in model.doc.bands.levels}
    group = model.doc.bands.group
    interval = _rank_interval(context, enterprise.uscc, group)
    out["score"] = {
        "total": _num(firm_score.total),
        "base_points": _num(firm_score.base_points),
        "bonus_points": _num(firm_score.bonus_points),
        "deducted_points": _num(firm_score.deducted_points),
        "band": firm_score.band,
        "band_name": band_names.get(firm_score.band, firm_score.band),
        "ranks": {
            "zone": _rank(firm_score.rank_zone, firm_score.n_zone, firm_score.pct_zone),
            "stage": _rank(firm_score.rank_stage, firm_score.n_stage, firm_score.pct_stage),
            "industry": _rank(
                firm_score.rank_industry, firm_score.n_industry, firm_score.pct_industry
            ),
        },
        "rank_interval": interval,
    }
    out["run"] = {
        "id": run.pk,
        "year": run.year,
        "run_hash": run.run_hash,
        "model_id": model.id,
        "model_version": run.model_version.version,
        "model_name": run.model_version.name(lang),
        "model_hash": run.model_hash,
        "data_hash": run.data_hash,
        "created_at": run.created_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "recomputed_run_hash": context.run_hash,
        "data_changed": bool(run.run_hash) and context.run_hash != run.run_hash,
    }
    mine = context.explanation.filter(pl.col("uscc") == enterprise.uscc)
    maxima = _max_points(model, stage)
    out["indicators"] = _indicator_table(model, mine, firm_score, maxima, lang)
    out["classes"] = _classes(model, context, firm_score, row, maxima, lang)
    out["extras"] = [
        {
            "kind": r["kind"],
            "item": r["item"],
            "name": _extra_name(model, r["item"], lang),
            "points": _num(r["points"]),
        }
        for r in context.extras.filter(pl.col("uscc") == enterprise.uscc).iter_rows(named=True)
        if r["points"]
    ]
    out["guidance"] = _guidance(context, enterprise.uscc, firm_score, row, out, lang)
    out["guidance"]["near_misses"] = _near_misses(context, zone, enterprise.uscc, year, lang)
    out["identity"]["criteria_met"] = [
        n["name"] for n in out["guidance"]["near_misses"] if n["status"] == "eligible"
    ]
    pools = pool_results(user, enterprise, year, lang)
    out["guidance"]["pools"] = pools or []
    out["identity"]["pools"] = [p["pool"] for p in pools or [] if p["member"]]
    return out


def _panel_row(zone: Any, uscc: str, year: int) -> dict[str, Any]:
    frame = year_frame(zone, year).filter(pl.col("uscc") == uscc)
    return frame.row(0, named=True) if not frame.is_empty() else {"year": year}


def _rank(rank: int | None, n: int | None, pct: float | None) -> dict[str, Any]:
    return {"rank": rank, "n": n, "pct": _num(pct)}


def _rank_interval(context: RunContext, uscc: str, group: str) -> dict[str, Any] | None:
    ranks = context.sensitivity()
    mine = ranks.filter(pl.col("uscc") == uscc) if "rank_p05" in ranks.columns else ranks.head(0)
    if mine.is_empty():
        return None
    r = mine.row(0, named=True)
    return {
        "group": group,
        "rank": r["rank"],
        "n": r["n"],
        "p05": _num(r["rank_p05"]),
        "p50": _num(r["rank_p50"]),
        "p95": _num(r["rank_p95"]),
        "width": _num(r["rank_width"]),
        "stable": bool(r["stable"]),
        "runs": SENSITIVITY_RUNS,
    }


def _extra_name(model: IndicatorModel, item: str, lang: str) -> str:
    for extra in [*model.doc.bonus, *model.doc.negative]:
        if extra.id == item:
            return _name(extra, lang)
    return item


def _indicator_table(
    model: IndicatorModel,
    mine: pl.DataFrame,
    firm_score: FirmScore,
    maxima: dict[str, float],
    lang: str,
) -> list[dict[str, Any]]:
    by_item = {r["item"]: r for r in mine.iter_rows(named=True)}
    parents = {n.id: _name(n, lang) for n in model.doc.nodes}
    stored = firm_score.indicator_points or {}
    rows = []
    for ind in model.doc.indicators:
        r = by_item.get(ind.id, {})
        rows.append(
            {
                "id": ind.id,
                "name": _name(ind, lang),
                "class": ind.parent,
                "class_name": parents.get(ind.parent, ind.parent),
                "field": ind.field,
                "kind": field_kind(ind.field) if not ind.denominator else "number",
                "unit": ind.unit,
                "value": _num(r.get("value")),
                "points": _num(stored.get(ind.id)),
                "recomputed_points": _num(r.get("points")),
                "max_points": round(maxima.get(ind.id, 0.0), 4),
                "percentile": _num(r.get("pct")),
                "peer_n": r.get("peer_n"),
                "peer_median": _num(r.get("peer_median")),
                "missing": bool(r.get("missing", True)),
                "treatment": r.get("treatment") or "",
                "mark": "",
            }
        )
    ranked = sorted(
        (r for r in rows if not r["missing"] and r["percentile"] is not None),
        key=lambda r: (-r["percentile"], r["id"]),
    )
    for r in ranked[:STRENGTHS]:
        r["mark"] = "strength"
    for r in ranked[::-1][:STRENGTHS]:
        if not r["mark"]:
            r["mark"] = "weakness"
    return rows


def _classes(
    model: IndicatorModel,
    context: RunContext,
    firm_score: FirmScore,
    row: dict[str, Any],
    maxima: dict[str, float],
    lang: str,
) -> list[dict[str, Any]]:
    top = [n for n in model.doc.nodes if n.parent == model.root.id]
    medians = context.class_medians
    for g in model.doc.defaults.peer_group:
        if g in medians.columns:
            value = firm_score.stage if g == model.doc.stage_field else row.get(g)
            medians = medians.filter(pl.col(g).eq_missing(value))
    median_row = medians.row(0, named=True) if not medians.is_empty() else {}
    stored = firm_score.node_points or {}
    return [
        {
            "id": n.id,
            "name": _name(n, lang),
            "points": _num(stored.get(n.id)),
            "max_points": round(maxima.get(n.id, 0.0), 4),
            "peer_median": _num(median_row.get(n.id)),
        }
        for n in top
    ]


def _guidance(
    context: RunContext,
    uscc: str,
    firm_score: FirmScore,
    row: dict[str, Any],
    portrait: dict[str, Any],
    lang: str,
) -> dict[str, Any]:
    """Next band, the best single changes and the missing data, from one batched what-if."""
    model = context.model
    group = model.doc.bands.group
    band_names = {b.code: _name(b, lang) for b in model.doc.bands.levels}
    target = guidance.next_band_target(model, context.scores, uscc, firm_score.band or None)
    out: dict[str, Any] = {
        "next_band": {
            "code": target.code,
            "name": band_names.get(target.code or "", target.code),
            "top": target.top,
            "needed_total": _num(target.needed_total),
            "points_needed": _num(target.points_needed),
            "reachable": target.reachable,
        },
        "suggestions": [],
        "missing_data": [],
    }
    if context.fitted is None or "uscc" not in row:
        return out
    indicators = portrait["indicators"]
    current = {r["id"]: r["value"] for r in indicators if not r["missing"]}
    percentile = {r["id"]: r["percentile"] for r in indicators}
    peer_values = _peer_values(context, uscc, model)
    int_fields = {c for c, f in STANDARD_FIELDS.items() if f.kind == Kind.INT}
    changes = guidance.candidate_changes(
        model, firm_score.stage, row, current, percentile, peer_values, int_fields
    )
    missing_changes = []
    names = {i.id: _name(i, lang) for i in model.doc.indicators}
    for ind_row in indicators:
        if not ind_row["missing"]:
            continue
        ind = next(i for i in model.doc.indicators if i.id == ind_row["id"])
        median = ind_row["peer_median"]
        value = guidance._field_value(ind, median, row, int_fields) if median is not None else None
        fields = guidance.missing_inputs(ind.field, row)
        missing_changes.append((ind_row, ind, value, fields))
    variants: list[dict[str, Any]] = [{}]
    variants += [{c.field: c.field_value} for c in changes]
    variants += [{ind.field: value} for _, ind, value, _ in missing_changes if value is not None]
    frame_row = context.frame.filter(pl.col("uscc") == uscc)
    scored = guidance.what_if_many(context.fitted, frame_row, variants)
    base_total = float(scored.get_column("total")[0] or 0.0)
    suggestions = guidance.rank_suggestions(
        changes, scored.slice(1, len(changes)), base_total, target, group
    )
    for s in suggestions:
        c = s.change
        out["suggestions"].append(
            {
                "indicator": c.indicator,
                "name": names.get(c.indicator, c.indicator),
                "field": c.field,
                "field_label": field_label(c.field, lang),
                "kind": field_kind(c.field),
                "current": c.current,
                "target": c.target,
                "field_current": c.field_current,
                "field_value": c.field_value,
                "basis": c.basis,
                "effort": round(c.effort, 4),
                "gain": round(s.gain, 4),
                "new_total": round(s.new_total, 4),
                "new_rank": s.new_rank,
                "new_band": s.new_band,
                "new_band_name": band_names.get(s.new_band or "", s.new_band),
                "per_effort": round(s.per_effort, 4),
                "reaches_next_band": s.reaches_band,
            }
        )
    position = 1 + len(changes)
    for ind_row, ind, value, fields in missing_changes:
        gain = None
        if value is not None:
            new_total = scored.get_column("total")[position]
            position += 1
            gain = round(float(new_total) - base_total, 4) if new_total is not None else None
        out["missing_data"].append(
            {
                "indicator": ind.id,
                "name": names[ind.id],
                "field": ind.field,
                "fields": fields,
                "field_labels": [field_label(f, lang) for f in fields],
                "peer_median": ind_row["peer_median"],
                "value_at_median": value,
                "gain_at_median": gain,
            }
        )
    out["missing_data"].sort(key=lambda m: -(m["gain_at_median"] or 0.0))
    out["base_total"] = round(base_total, 4)
    return out


def _peer_values(context: RunContext, uscc: str, model: IndicatorModel) -> dict[str, np.ndarray]:
    """Sorted indicator values of the firm's peers (its peer group per indicator)."""
    mine = context.explanation.filter(pl.col("uscc") == uscc)
    if mine.is_empty():
        return {}
    first = mine.row(0, named=True)
    out = {}
    for ind in model.doc.indicators:
        group = tuple(
            (g, first[g]) for g in _peer_group(model, ind) if g in context.explanation.columns
        )
        out[ind.id] = context.peer_values(ind.id, group)
    return out
