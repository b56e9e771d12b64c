"""Live evaluation of one firm against every active pool of its zone (nothing stored).

The firm's rows come from the zone's cached derived panel through a uscc index
(`enterprises.panel.firm_rows`), its scores from the newest run of the year, the compiled
rules are cached per pool configuration, and all pools (criteria and points conditions)
are evaluated in one call of the engine's one-firm path (`evaluate_one_firm`, row-wise,
no output frame) — the same compiled criteria as the zone-wide computation, with
identical results.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from threading import Lock

from django.db import connection

from innopoints.engine.rules import evaluate_one_firm
from innopoints.engine.rules.compiler import Compiler, compile_criterion
from innopoints.engine.rules.reference import by_identity
from innopoints.enterprises.models import Enterprise
from innopoints.enterprises.panel import firm_rows
from innopoints.pools.actions import criterion_of, latest_run, points_criterion_of, scores_frame
from innopoints.pools.models import Pool

_COMPILED: OrderedDict[tuple, CompiledPools] = OrderedDict()
_ACTIVE: OrderedDict[tuple, tuple[Pool, ...]] = OrderedDict()
_BY_POOLS: dict[tuple, tuple[Sequence[Pool], CompiledPools]] = {}  # `by_identity`
_LOCK = Lock()


def active_pools(zone) -> tuple[Pool, ...]:
    """The zone's active pools in order, cached per pool configuration: every pool
    create and update bumps the zone's `pools_version` (`pools.actions`), and the zone
    row is read with the firm, so a request asks the database nothing more."""
    key = (
        connection.alias,
        connection.settings_dict.get("NAME"),
        zone.pk,
        zone.created_at,
        zone.pools_version,
    )
    with _LOCK:
        if key in _ACTIVE:
            _ACTIVE.move_to_end(key)
            return _ACTIVE[key]
    pools = tuple(Pool.objects.filter(zone=zone, active=True).select_related("zone"))
    with _LOCK:
        _ACTIVE[key] = pools
        while len(_ACTIVE) > 16:
            _ACTIVE.popitem(last=False)
    return pools


@dataclass(slots=True)
class LiveResult:
    """One pool's live result for one firm."""

    pool: Pool
    status: str
    score_min: float | None
    reasons: str


@dataclass(frozen=True)
class CompiledPools:
    """A pool configuration compiled: (pool, criterion, points condition) per pool, the
    compiled criteria flat in that order (criterion, then points condition, per pool)
    and whether any of them reads a scoring run."""

    items: list[tuple[Pool, Compiler, Compiler | None]]
    compilers: tuple[Compiler, ...]
    reads_scores: bool


def compiled_pools(pools: Sequence[Pool]) -> CompiledPools:
    """The pools compiled; cached by the pools' configuration, so a settings change
    compiles afresh. The tuple `active_pools` returns is known by its identity (it is a
    new tuple whenever a pool changes), so a request builds no per-pool key."""
    if pools.__class__ is tuple:
        return by_identity(_BY_POOLS, pools, lambda: _compiled_by_configuration(pools))
    return _compiled_by_configuration(pools)


def _compiled_by_configuration(pools: Sequence[Pool]) -> CompiledPools:
    key = tuple((p.id, p.updated_at) for p in pools)
    with _LOCK:
        out = _COMPILED.get(key)
        if out is not None:
            _COMPILED.move_to_end(key)
            return out
    out = _compile(pools)
    with _LOCK:
        _COMPILED[key] = out
        while len(_COMPILED) > 16:
            _COMPILED.popitem(last=False)
    return out


def _compile(pools: Sequence[Pool]) -> CompiledPools:
    items = []
    index = 0
    for pool in pools:
        main = compile_criterion(criterion_of(pool), index)
        index += 1
        points = points_criterion_of(pool)
        compiled_points = None
        if points is not None:
            compiled_points = compile_criterion(points, index)
            index += 1
        items.append((pool, main, compiled_points))
    compilers = tuple(c for _p, main, points in items for c in (main, points) if c is not None)
    return CompiledPools(items, compilers, any(c.needs.scores for c in compilers))


def _combine(a: str | None, b: str | None) -> str:
    if b is None:
        return a or "unknown"
    if "ineligible" in (a, b):
        return "ineligible"
    return "eligible" if a == b == "eligible" else "unknown"


def evaluate_firm(
    enterprise: Enterprise,
    year: int,
    lang: str = "zh",
    pools: Sequence[Pool] | None = None,
    *,
    reasons: bool = True,
) -> list[LiveResult]:
    """Every active pool of the firm's zone (or `pools`) on the firm's current data for
    `year`, with the newest scoring run of the year for points conditions.

    `reasons=False` gives statuses and scores only (the fast path for many pools)."""
    zone = enterprise.zone
    if pools is None:
        pools = active_pools(zone)
    compiled = compiled_pools(pools)
    if not compiled.items:
        return []
    rows = firm_rows(zone, enterprise.uscc)
    compilers = compiled.compilers
    scores = None  # read only when a rule refers to points, rank or band
    if compiled.reads_scores:
        scores = scores_frame(latest_run(zone, year), year, uscc=enterprise.uscc)
    results = evaluate_one_firm(
        rows, compilers, year=year, lang=lang, scores=scores, reasons=reasons
    )
    if results is None:
        return []
    in_order = iter(results)  # the results follow `compilers`: main, then points, per pool
    out = []
    head = "; points condition: " if lang == "en" else "；积分条件："
    for pool, _main, points in compiled.items:
        result = next(in_order)
        text = result["reasons"] or ""
        points_status = None
        if points is not None:
            points_result = next(in_order)
            points_status = points_result["status"]
            if reasons:
                text += head + (points_result["reasons"] or "")
        status = _combine(result["status"], points_status)
        out.append(LiveResult(pool, status, result["score_min"], text))
    return out
