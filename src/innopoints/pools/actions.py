"""Writes of the pools app. Each runs in one transaction and leaves an audit record.

- `do_create_default_pools`: the seven default pools of a zone (idempotent).
- `do_create_pool` / `do_update_pool`: a pool's configuration, validated with the rules
  engine at save time (`PoolConfigError.problems` carry node paths); changes audited.
- `do_compute_pools`: every active pool over every firm of the zone for one year in one
  vectorised pass of the rules engine, with the scoring run's results joined for points
  conditions; overrides applied; memberships stored in bulk; one audit event with counts.
  `do_start_pool_computation` runs it as a background job (the page polls its progress).
- `after_scoring_run`: the hook the scoring app calls when a run is done.
- `do_add_override` / `do_delete_override`: an admin adds or removes a firm for a year
  with a reason (applied to the stored membership at once, and by every later compute).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innopoints.audit.actions import diff_fields, record
from innopoints.bulk import bulk_insert_frame
from innopoints.engine.rules import (
    Criterion,
    DataError,
    Problem,
    RuleError,
    evaluate,
    load_criterion,
    load_rule,
    shipped_criteria,
    validate_rule,
)
from innopoints.enterprises.access import enterprise_ids
from innopoints.enterprises.models import Enterprise
from innopoints.enterprises.panel import zone_derived
from innopoints.jobs.tasks import start_job
from innopoints.pools.models import Pool, PoolComputation, PoolMembership, PoolOverride
from innopoints.scoring.models import FirmScore, ScoringRun
from innopoints.zones.models import Zone

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

# (code = shipped criterion, zh, en, order): the seed zone's five pools, then 专精特新
# and 创新型中小企业.
DEFAULT_POOLS: tuple[tuple[str, str, str, int], ...] = (
    ("tech_sme", "科技型中小企业", "Tech-based SME", 10),
    ("high_tech_precheck", "高新技术企业", "High-tech enterprise", 20),
    ("gazelle", "瞪羚企业", "Gazelle enterprise", 30),
    ("tech_leader", "科技领军企业", "Tech-leader enterprise", 40),
    ("listing_reserve", "上市后备企业", "Listing reserve enterprise", 50),
    ("srdi_sme", "专精特新中小企业", "SRDI SME (专精特新)", 60),
    ("innovative_sme", "创新型中小企业", "Innovative SME", 70),
)

# Points conditions offered by the settings form: kind → (score column, comparison).
POINTS_KINDS: dict[str, tuple[str, str]] = {
    "top_stage": ("pct_stage", ">="),
    "top_zone": ("pct_zone", ">="),
    "top_industry": ("pct_industry", ">="),
    "min_total": ("total", ">="),
}
SCORE_FRAME_COLUMNS: dict[str, pl.DataType] = {
    "total": pl.Float64,
    "base_points": pl.Float64,
    "bonus_points": pl.Float64,
    "deducted_points": pl.Float64,
    "band": pl.String,
    "rank_zone": pl.Int64,
    "n_zone": pl.Int64,
    "pct_zone": pl.Float64,
    "rank_stage": pl.Int64,
    "n_stage": pl.Int64,
    "pct_stage": pl.Float64,
    "rank_industry": pl.Int64,
    "n_industry": pl.Int64,
    "pct_industry": pl.Float64,
}
STATUSES = ("eligible", "ineligible", "unknown")
MAX_REASON = 4000
BATCH = 10  # criteria per engine pass (one plan per batch keeps planning time linear)


def _noop(fraction: float, message: str = "") -> None:
    return None


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


class PoolError(ValueError):
    """A pools action that cannot be done (the message is for the user)."""


class PoolConfigError(ValueError):
    """A pool configuration that is not valid; `problems` lists every problem with its path."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


# ---------------------------------------------------------------------------- configuration


def points_rule_for(kind: str, value: float | None) -> dict[str, Any] | None:
    """The rule tree of a points condition chosen in the settings form.

    `top_stage` 20 → top 20 % of the firm's stage (percentile ≥ 80); `min_total` 60 →
    total points ≥ 60. An empty kind means no points condition.
    """
    if not kind:
        return None
    if kind not in POINTS_KINDS or value is None:
        raise PoolConfigError([Problem("points_rule", f"unknown points condition {kind!r}")])
    column, op = POINTS_KINDS[kind]
    threshold = 100 - float(value) if column.startswith("pct_") else float(value)
    return {op: [{"score": column}, threshold]}


def describe_points_rule(tree: Any) -> tuple[str, float | None]:
    """(kind, value) of a stored points condition for the settings form ('custom' when the
    tree is not one of the form's shapes)."""
    if not tree:
        return "", None
    for kind, (column, op) in POINTS_KINDS.items():
        args = tree.get(op) if isinstance(tree, dict) and len(tree) == 1 else None
        if (
            isinstance(args, list)
            and len(args) == 2
            and args[0] == {"score": column}
            and isinstance(args[1], int | float)
        ):
            return kind, (100 - args[1] if column.startswith("pct_") else args[1])
    return "custom", None


def _prefixed(problems: list[Problem], prefix: str) -> list[Problem]:
    out = []
    for p in problems:
        path = p.path
        if path == "rules":
            path = prefix
        elif path.startswith(("rules.", "rules[")):
            path = prefix + path[len("rules") :]
        elif path.startswith("params."):
            path = "params" + path[len("params") :]
        else:
            path = f"{prefix}: {path}" if path.startswith("(") else path
        out.append(Problem(path, p.message))
    return out


def validate_pool_config(
    criterion: str,
    params: dict[str, Any] | None,
    rule: Any,
    points_rule: Any,
    custom_fields: Sequence = (),
) -> list[Problem]:
    """Every problem of a pool configuration, with node paths (`rule.all[1]...`)."""
    problems: list[Problem] = []
    if criterion:
        if criterion not in shipped_criteria():
            problems.append(
                Problem(
                    "criterion",
                    f"unknown criterion {criterion!r}; one of {', '.join(shipped_criteria())}",
                )
            )
        else:
            try:
                load_criterion(criterion, params or None, custom_fields=tuple(custom_fields))
            except RuleError as exc:
                problems += exc.problems
        if rule is not None:
            problems.append(Problem("rule", "give either a criterion or a custom rule, not both"))
    elif rule is None:
        problems.append(Problem("criterion", "choose a criterion or write a custom rule"))
    else:
        problems += _prefixed(validate_rule(rule, custom_fields=tuple(custom_fields)), "rule")
    if points_rule is not None:
        problems += _prefixed(validate_rule(points_rule), "points_rule")
    return problems


def _pool_state(pool: Pool) -> dict[str, Any]:
    return {
        "code": pool.code,
        "name_zh": pool.name_zh,
        "name_en": pool.name_en,
        "criterion": pool.criterion,
        "params": pool.params,
        "rule": pool.rule,
        "points_rule": pool.points_rule,
        "order": pool.order,
        "active": pool.active,
    }


def do_create_pool(
    actor,
    zone: Zone,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    criterion: str = "",
    params: dict[str, Any] | None = None,
    rule: Any = None,
    points_rule: Any = None,
    order: int = 100,
    active: bool = True,
    default: bool = False,
) -> Pool:
    """Validate and create a pool; raises `PoolConfigError` (nothing saved) or `PoolError`."""
    problems = validate_pool_config(criterion, params, rule, points_rule, zone.custom_fields())
    if problems:
        raise PoolConfigError(problems)
    if Pool.objects.filter(zone=zone, code=code).exists():
        raise PoolError(_("The zone already has a pool with the code %(code)s.") % {"code": code})
    with transaction.atomic():
        pool = Pool.objects.create(
            zone=zone,
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            criterion=criterion,
            params=params or {},
            rule=rule,
            points_rule=points_rule,
            order=order,
            active=active,
            default=default,
        )
        record(actor, "pools.pool.create", pool, zone=zone, detail=_pool_state(pool))
        _pools_changed(zone)
    return pool


def _pools_changed(zone: Zone) -> None:
    """A zone's pool configuration changed: readers of its active pools read afresh."""
    Zone.objects.filter(pk=zone.pk).update(pools_version=F("pools_version") + 1)


def do_create_default_pools(actor, zone: Zone) -> list[Pool]:
    """Create the default pools a zone lacks (by code); returns the pools created."""
    have = set(Pool.objects.filter(zone=zone).values_list("code", flat=True))
    created = []
    for code, zh, en, order in DEFAULT_POOLS:
        if code in have:
            continue
        created.append(
            do_create_pool(
                actor,
                zone,
                code=code,
                name_zh=zh,
                name_en=en,
                criterion=code,
                order=order,
                default=True,
            )
        )
    return created


def ensure_default_pools(zones) -> None:
    """Create the default pools in every zone that has no pool yet (first use of the pages)."""
    zone_list = list(zones)
    have = set(Pool.objects.filter(zone__in=zone_list).values_list("zone_id", flat=True))
    for zone in zone_list:
        if zone.pk not in have:
            do_create_default_pools(None, zone)


EDITABLE = ("name_zh", "name_en", "criterion", "params", "rule", "points_rule", "order", "active")


def do_update_pool(actor, pool: Pool, **changes: Any) -> bool:
    """Change a pool's configuration (fields of `EDITABLE`); False when nothing changed.

    The whole new configuration is validated first; raises `PoolConfigError`.
    """
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise PoolError(f"not editable: {', '.join(sorted(unknown))}")
    old = _pool_state(pool)
    new = {**old, **changes}
    if new["criterion"]:
        new["rule"] = None
    problems = validate_pool_config(
        new["criterion"],
        new["params"],
        new["rule"],
        new["points_rule"],
        pool.zone.custom_fields(),
    )
    if problems:
        raise PoolConfigError(problems)
    diff = diff_fields(old, new)
    if not diff:
        return False
    with transaction.atomic():
        for key in EDITABLE:
            setattr(pool, key, new[key])
        pool.save()
        record(actor, "pools.pool.update", pool, zone=pool.zone, changes=diff)
        _pools_changed(pool.zone)
    return True


# ---------------------------------------------------------------------------- computation

_CRITERIA: dict[str, Criterion] = {}


def _cached(key: str, build: Callable[[], Criterion]) -> Criterion:
    crit = _CRITERIA.get(key)
    if crit is None:
        crit = build()
        if len(_CRITERIA) > 256:
            _CRITERIA.clear()
        _CRITERIA[key] = crit
    return crit


def criterion_of(pool: Pool) -> Criterion:
    """The pool's criterion as the engine evaluates it (id `pool<pk>`; cached by content)."""
    custom = tuple(pool.zone.custom_fields()) if pool.rule is not None else ()
    key = json.dumps(
        [pool.pk, pool.criterion, pool.params, pool.rule, [f.code for f in custom]],
        sort_keys=True,
        default=str,
    )

    def build() -> Criterion:
        if pool.criterion:
            crit = load_criterion(pool.criterion, pool.params or None)
        else:
            crit = load_rule(pool.rule, rule_id=f"pool{pool.pk}", custom_fields=custom)
        return dataclasses.replace(crit, id=f"pool{pool.pk}")

    return _cached(key, build)


def points_criterion_of(pool: Pool) -> Criterion | None:
    """The pool's points condition as a criterion (id `pool<pk>:points`), or None."""
    if pool.points_rule is None:
        return None
    key = json.dumps(["points", pool.pk, pool.points_rule], sort_keys=True, default=str)
    return _cached(key, lambda: load_rule(pool.points_rule, rule_id=f"pool{pool.pk}:points"))


def latest_run(zone: Zone, year: int) -> ScoringRun | None:
    """The zone's newest finished scoring run of `year`, or None."""
    return (
        ScoringRun.objects.filter(zone=zone, year=year, status=ScoringRun.Status.DONE)
        .order_by("-finished_at", "-id")
        .first()
    )


def scores_frame(run: ScoringRun | None, year: int, uscc: str | None = None) -> pl.DataFrame:
    """A run's stored firm scores as the frame rules read with `{score: ...}` (uscc, year,
    total, band, rank/n/pct per zone, stage and industry; `overall` = zone), of every
    firm or of the firm `uscc`. Empty when no run: a points condition is then unknown,
    never silently false."""
    columns = list(SCORE_FRAME_COLUMNS)
    schema = {"uscc": pl.String, **SCORE_FRAME_COLUMNS}
    scores = FirmScore.objects.filter(run=run)
    if uscc is not None:
        scores = scores.filter(enterprise__uscc=uscc)
    rows = (
        list(scores.order_by("enterprise__uscc").values_list("enterprise__uscc", *columns))
        if run is not None
        else []
    )
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(
        pl.lit(year, dtype=pl.Int64).alias("year"),
        pl.col("rank_zone").alias("rank_overall"),
        pl.col("n_zone").alias("n_overall"),
        pl.col("pct_zone").alias("pct_overall"),
    )


def _kleene_and(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return (
        pl.when((a == "ineligible") | (b == "ineligible"))
        .then(pl.lit("ineligible"))
        .when((a == "eligible") & (b == "eligible"))
        .then(pl.lit("eligible"))
        .otherwise(pl.lit("unknown"))
    )


def evaluate_pools(
    panel: pl.DataFrame,
    pools: Sequence[Pool],
    year: int,
    scores: pl.DataFrame,
    *,
    near_miss: bool = True,
    progress: Progress = _noop,
) -> pl.DataFrame:
    """Every pool over every firm of `panel` for `year`: one row per firm and pool.

    Columns: uscc, pool (id), status, score, score_min, score_max, reasons, reasons_en,
    missing, near_miss, near_miss_en, near_miss_blocked. The criteria and the points
    conditions of all pools are evaluated in one pass (per language); near-misses are
    computed for the ineligible firms of each threshold-based pool.
    """
    main = {p.pk: criterion_of(p) for p in pools}
    points = {p.pk: c for p in pools if (c := points_criterion_of(p)) is not None}
    criteria = [*main.values(), *points.values()]
    out = {}
    for i, lang in enumerate(("zh", "en")):
        progress(0.1 + 0.25 * i, f"evaluating the pools ({lang})")
        try:
            out[lang] = evaluate(
                panel, criteria, year=year, lang=lang, scores=scores, batch_size=BATCH
            )
        except DataError as exc:
            raise PoolError(str(exc)) from exc
    base = out["zh"].join(
        out["en"].select("uscc", "criterion", pl.col("reasons").alias("reasons_en")),
        on=["uscc", "criterion"],
        how="left",
    )
    crit = base.filter(~pl.col("criterion").str.ends_with(":points"))
    pts = base.filter(pl.col("criterion").str.ends_with(":points")).select(
        "uscc",
        pl.col("criterion").str.replace(":points", "", literal=True),
        pl.col("status").alias("p_status"),
        pl.col("reasons").alias("p_reasons"),
        pl.col("reasons_en").alias("p_reasons_en"),
    )
    frame = crit.join(pts, on=["uscc", "criterion"], how="left").with_columns(
        pl.col("status").alias("c_status"),
        pl.when(pl.col("p_status").is_null())
        .then(pl.col("status"))
        .otherwise(_kleene_and(pl.col("status"), pl.col("p_status")))
        .alias("status"),
        pl.when(pl.col("p_status").is_null())
        .then(pl.col("reasons"))
        .otherwise(
            pl.concat_str(
                pl.col("reasons"), pl.lit("；积分条件："), pl.col("p_reasons"), ignore_nulls=True
            )
        )
        .alias("reasons"),
        pl.when(pl.col("p_status").is_null())
        .then(pl.col("reasons_en"))
        .otherwise(
            pl.concat_str(
                pl.col("reasons_en"),
                pl.lit("; points condition: "),
                pl.col("p_reasons_en"),
                ignore_nulls=True,
            )
        )
        .alias("reasons_en"),
    )
    frame = frame.with_columns(
        pl.when((pl.col("c_status") == "eligible") & (pl.col("p_status") == "ineligible"))
        .then(pl.concat_str(pl.lit("积分条件未满足："), pl.col("p_reasons")))
        .alias("near_miss"),
        pl.when((pl.col("c_status") == "eligible") & (pl.col("p_status") == "ineligible"))
        .then(pl.concat_str(pl.lit("points condition not met: "), pl.col("p_reasons_en")))
        .alias("near_miss_en"),
        pl.lit(None, dtype=pl.Boolean).alias("near_miss_blocked"),
    )
    if near_miss:
        frame = _with_near_misses(panel, pools, main, frame, year, progress)
    return frame.select(
        "uscc",
        pl.col("criterion").alias("pool"),
        "status",
        "score",
        "score_min",
        "score_max",
        "reasons",
        "reasons_en",
        "missing",
        "near_miss",
        "near_miss_en",
        "near_miss_blocked",
    )


def _with_near_misses(
    panel: pl.DataFrame,
    pools: Sequence[Pool],
    main: dict[int, Criterion],
    frame: pl.DataFrame,
    year: int,
    progress: Progress,
) -> pl.DataFrame:
    """Fill the near-miss columns for firms the pool's own criterion finds ineligible."""
    found = []
    for k, pool in enumerate(pools):
        crit = main[pool.pk]
        failing = frame.filter(
            (pl.col("criterion") == crit.id) & (pl.col("c_status") == "ineligible")
        ).get_column("uscc")
        if failing.is_empty():
            continue
        progress(0.6 + 0.25 * k / max(len(pools), 1), f"near-misses of {pool.code}")
        subset = panel.filter(pl.col("uscc").is_in(failing.to_list()))
        texts = {}
        for lang in ("zh", "en"):
            try:
                texts[lang] = evaluate(subset, crit, year=year, lang=lang, near_miss=True)
            except DataError:  # pragma: no cover - the first pass would have failed already
                break
        if len(texts) < 2:
            continue
        found.append(
            texts["zh"]
            .select("uscc", "criterion", pl.col("near_miss").alias("nm"), "near_miss_blocked")
            .join(
                texts["en"].select("uscc", "criterion", pl.col("near_miss").alias("nm_en")),
                on=["uscc", "criterion"],
                how="left",
            )
            .rename({"near_miss_blocked": "nm_blocked"})
        )
    if not found:
        return frame
    near = pl.concat(found, how="vertical")
    return (
        frame.join(near, on=["uscc", "criterion"], how="left")
        .with_columns(
            pl.coalesce("nm", "near_miss").alias("near_miss"),
            pl.coalesce("nm_en", "near_miss_en").alias("near_miss_en"),
            pl.coalesce("nm_blocked", "near_miss_blocked").alias("near_miss_blocked"),
        )
        .drop("nm", "nm_en", "nm_blocked")
    )


def membership_frame(
    result: pl.DataFrame, year_rows: pl.DataFrame, pools: Sequence[Pool], zone: Zone, year: int
) -> pl.DataFrame:
    """The rows to store: engine results with database ids, stage, industry section and
    the year's overrides applied (all columns of `PoolMembership` but the run's)."""
    ids = pl.DataFrame(
        list(enterprise_ids(zone).items()),
        schema={"uscc": pl.String, "enterprise_id": pl.Int64},
        orient="row",
    )
    pool_ids = pl.DataFrame(
        [(f"pool{p.pk}", p.pk) for p in pools],
        schema={"pool": pl.String, "pool_id": pl.Int64},
        orient="row",
    )
    overrides = pl.DataFrame(
        list(
            PoolOverride.objects.filter(pool__in=pools, year=year).values_list(
                "pool_id", "enterprise_id", "action", "reason"
            )
        ),
        schema={"pool_id": pl.Int64, "enterprise_id": pl.Int64, "o_action": pl.String,
                "o_reason": pl.String},
        orient="row",
    )  # fmt: skip
    extra = year_rows.select(
        "uscc",
        pl.col("stage").cast(pl.String).fill_null("").str.slice(0, 32).alias("stage"),
        pl.col("industry_code").fill_null("").str.slice(0, 1).alias("industry_section"),
    )
    computed = pl.col("status") == "eligible"
    overridden = pl.col("o_action").is_not_null()

    def text(name: str) -> pl.Expr:
        return pl.col(name).fill_null("").str.slice(0, MAX_REASON)

    return (
        result.join(pool_ids, on="pool", how="inner")
        .join(ids, on="uscc", how="inner")
        .join(extra, on="uscc", how="left")
        .join(overrides, on=["pool_id", "enterprise_id"], how="left")
        .select(
            "pool_id",
            "enterprise_id",
            pl.lit(year, dtype=pl.Int64).alias("year"),
            pl.when(overridden)
            .then(pl.col("o_action") == "add")
            .otherwise(computed)
            .alias("member"),
            computed.alias("computed_member"),
            "status",
            "score",
            "score_min",
            "score_max",
            text("reasons"),
            text("reasons_en"),
            text("missing"),
            text("near_miss"),
            text("near_miss_en"),
            "near_miss_blocked",
            pl.col("stage").fill_null(""),
            pl.col("industry_section").fill_null(""),
            pl.when(overridden)
            .then(pl.lit(PoolMembership.Source.OVERRIDE.value))
            .otherwise(pl.lit(PoolMembership.Source.COMPUTED.value))
            .alias("source"),
            pl.col("o_reason").fill_null("").alias("override_reason"),
        )
    )


def _counts(frame: pl.DataFrame, pools: Sequence[Pool]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {
        p.code: {"members": 0, "overrides": 0, **dict.fromkeys(STATUSES, 0)} for p in pools
    }
    code = {p.pk: p.code for p in pools}
    grouped = frame.group_by("pool_id").agg(
        pl.col("member").sum().alias("members"),
        (pl.col("source") == "override").sum().alias("overrides"),
        *[(pl.col("status") == s).sum().alias(s) for s in STATUSES],
    )
    for row in grouped.iter_rows(named=True):
        counts[code[row["pool_id"]]].update({k: int(v) for k, v in row.items() if k != "pool_id"})
    return counts


def do_compute_pools(
    actor,
    zone: Zone,
    year: int,
    run: ScoringRun | None = None,
    *,
    near_miss: bool = True,
    progress: Progress = _noop,
    computation: PoolComputation | None = None,
) -> PoolComputation:
    """Compute every active pool of `zone` for `year` and store the memberships.

    `run` is the scoring run whose results points conditions read (default: the zone's
    newest finished run of the year; without one a points condition is "unknown").
    Overrides of the year are applied. The year's memberships of these pools are
    replaced in one transaction with one audit event (counts per pool). Raises
    `PoolError` when the zone has no active pool or no data for the year.
    """
    if run is not None and (run.zone_id != zone.pk or run.year != year):
        raise PoolError(_("The scoring run belongs to another zone or year."))
    if computation is None:
        computation = PoolComputation.objects.create(
            zone=zone, year=year, run=run, created_by=_user(actor)
        )
    try:
        pools = list(Pool.objects.filter(zone=zone, active=True).select_related("zone"))
        if not pools:
            raise PoolError(_("The zone has no active pool."))
        progress(0.02, "reading the zone's data")
        panel = zone_derived(zone)
        year_rows = panel.filter(pl.col("year") == year)
        if year_rows.is_empty():
            raise PoolError(_("The zone has no data for %(year)s.") % {"year": year})
        if run is None:
            run = latest_run(zone, year)
        scores = scores_frame(run, year)
        result = evaluate_pools(panel, pools, year, scores, near_miss=near_miss, progress=progress)
        progress(0.88, "storing memberships")
        frame = membership_frame(result, year_rows, pools, zone, year)
        counts = _counts(frame, pools)
        now = timezone.now()
        with transaction.atomic():
            PoolMembership.objects.filter(pool__in=pools, year=year).delete()
            bulk_insert_frame(
                PoolMembership,
                frame,
                {
                    "computation_id": computation.pk,
                    "run_id": run.pk if run else None,
                    "computed_at": connection.ops.adapt_datetimefield_value(now),
                },
            )
            PoolComputation.objects.filter(pk=computation.pk).update(
                status=PoolComputation.Status.DONE,
                run=run,
                data_version=zone.data_version,
                counts=counts,
                finished_at=timezone.now(),
            )
            record(
                actor,
                "pools.compute",
                computation,
                zone=zone,
                detail={
                    "year": year,
                    "run": run.pk if run else None,
                    "run_hash": run.run_hash if run else "",
                    "data_version": zone.data_version,
                    "firms": frame["enterprise_id"].n_unique(),
                    "memberships": frame.height,
                    "counts": counts,
                },
            )
    except Exception as exc:
        PoolComputation.objects.filter(pk=computation.pk).update(
            status=PoolComputation.Status.FAILED,
            error=str(exc)[:2000],
            finished_at=timezone.now(),
        )
        raise
    from innopoints.policies.actions import after_pools_computed  # policies read pools

    after_pools_computed(zone, year, actor)
    progress(1.0, "done")
    computation.refresh_from_db()
    return computation


def do_start_pool_computation(
    actor, zone: Zone, year: int, run: ScoringRun | None = None
) -> PoolComputation:
    """Start `do_compute_pools` as a background job; the computation records its job."""
    if not Pool.objects.filter(zone=zone, active=True).exists():
        raise PoolError(_("The zone has no active pool."))
    computation = PoolComputation.objects.create(
        zone=zone, year=year, run=run, created_by=_user(actor)
    )
    pk = computation.pk

    def work(progress: Progress) -> dict[str, Any]:
        target = PoolComputation.objects.get(pk=pk)
        do_compute_pools(actor, zone, year, run, progress=progress, computation=target)
        return {"computation": pk, "url": reverse("pools-home") + f"?year={year}"}

    job = start_job("pools", work, user=_user(actor), zone=zone)
    PoolComputation.objects.filter(pk=pk).update(job=job)
    computation.refresh_from_db()
    return computation


def after_scoring_run(run: ScoringRun | int, actor=None) -> PoolComputation | None:
    """Hook for the scoring app: recompute the zone's pools for the run's year.

    Call it at the end of a successful run (`execute_scoring_run`, inside its job, after
    its transaction), with the run or its id: the run is re-read, so a stale in-memory
    status does not matter. Does nothing unless the run is done and the zone has an
    active pool; a failure is logged and stored on the computation, never raised, so a
    scoring run never fails because of its pools.
    """
    run = ScoringRun.objects.get(pk=run if isinstance(run, int) else run.pk)
    if run.status != ScoringRun.Status.DONE:
        return None
    zone = Zone.objects.get(pk=run.zone_id)
    if not Pool.objects.filter(zone=zone, active=True).exists():
        return None
    try:
        return do_compute_pools(actor, zone, run.year, run)
    except Exception:
        log.exception("pools of zone %s, year %s after run %s failed", zone.pk, run.year, run.pk)
        return PoolComputation.objects.filter(zone=zone, year=run.year).first()


# ---------------------------------------------------------------------------- overrides


def do_add_override(
    actor, pool: Pool, enterprise: Enterprise, year: int, action: str, reason: str
) -> PoolOverride:
    """Add (`add`) or remove (`remove`) a firm for a year, with a reason; audited.

    Replaces an earlier override of the same firm and year; the stored membership (if
    computed already) changes at once.
    """
    reason = (reason or "").strip()
    if action not in PoolOverride.Action.values:
        raise PoolError(_("The action must be add or remove."))
    if not reason:
        raise PoolError(_("Give the reason for the override."))
    if enterprise.zone_id != pool.zone_id:
        raise PoolError(_("The enterprise belongs to another zone."))
    if not 2000 <= year <= 2100:
        raise PoolError(_("The year must be between 2000 and 2100."))
    with transaction.atomic():
        old = PoolOverride.objects.filter(pool=pool, enterprise=enterprise, year=year).first()
        before = {"action": old.action, "reason": old.reason} if old else {}
        override = old or PoolOverride(pool=pool, enterprise=enterprise, year=year)
        override.action = action
        override.reason = reason
        override.created_by = _user(actor)
        override.save()
        PoolMembership.objects.filter(pool=pool, enterprise=enterprise, year=year).update(
            member=action == PoolOverride.Action.ADD,
            source=PoolMembership.Source.OVERRIDE,
            override_reason=reason,
        )
        record(
            actor,
            "pools.override.add",
            override,
            zone=pool.zone,
            object_repr=f"{pool.code} {year} {enterprise.uscc}",
            changes=diff_fields(before, {"action": action, "reason": reason}),
            detail={"pool": pool.code, "uscc": enterprise.uscc, "year": year, "action": action},
        )
    from innopoints.policies.actions import after_pools_computed  # policies read pools

    after_pools_computed(pool.zone, year, actor)
    return override


def do_delete_override(actor, override: PoolOverride) -> None:
    """Withdraw an override; the stored membership returns to the computed result. Audited."""
    pool = override.pool
    with transaction.atomic():
        membership = PoolMembership.objects.filter(
            pool=pool, enterprise_id=override.enterprise_id, year=override.year
        ).first()
        if membership is not None:
            membership.member = membership.computed_member
            membership.source = PoolMembership.Source.COMPUTED
            membership.override_reason = ""
            membership.save(update_fields=["member", "source", "override_reason"])
        record(
            actor,
            "pools.override.delete",
            override,
            zone=pool.zone,
            object_repr=f"{pool.code} {override.year} {override.enterprise.uscc}",
            changes={"action": [override.action, None], "reason": [override.reason, None]},
            detail={"pool": pool.code, "uscc": override.enterprise.uscc, "year": override.year},
        )
        override.delete()
    from innopoints.policies.actions import after_pools_computed  # policies read pools

    after_pools_computed(pool.zone, override.year, actor)
