"""What matching reads for a zone: the derived panel with the policy fields, the newest
scoring run's results, and each published version compiled once (cached by content).

Reads only: pool memberships through the pools app's tables (the `pool_<code>` fields),
scores through `pools.actions.scores_frame`, firm data through `enterprises.panel`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from typing import Any

import polars as pl
from django.db import connection
from django.db.models import Count, IntegerField, Max, Sum
from django.db.models.functions import Cast

from innopoints.engine.rules import Criterion
from innopoints.engine.rules.compiler import Compiler, compile_criterion
from innopoints.enterprises.panel import zone_derived, zone_frames
from innopoints.policies.matching import extra_fields, load_policy, pool_field, renamed, with_extras
from innopoints.policies.models import PolicyVersion
from innopoints.pools.actions import latest_run, scores_frame
from innopoints.pools.models import Pool, PoolMembership
from innopoints.scoring.models import ScoringRun
from innopoints.standard.catalogue import Field

_CRITERIA: OrderedDict[str, Criterion] = OrderedDict()
_COMPILED: OrderedDict[str, list[Compiler]] = OrderedDict()
_LOCK = Lock()


def zone_pools(zone) -> list[tuple[str, str, str]]:
    """(code, name_zh, name_en) of the zone's pools."""
    return list(Pool.objects.filter(zone=zone).values_list("code", "name_zh", "name_en"))


def policy_fields(zone) -> list[Field]:
    """The fields a policy of the zone may read: custom fields, `new_<type>`, `pool_<code>`."""
    return [*zone.custom_fields(), *extra_fields(zone_pools(zone))]


def pool_frame(zone) -> pl.DataFrame:
    """uscc, year and one boolean column per pool (`pool_<code>`: member in that year);
    a year a pool was not computed for stays null (unknown)."""
    rows = list(
        PoolMembership.objects.filter(pool__zone=zone).values_list(
            "enterprise__uscc", "year", "pool__code", "member"
        )
    )
    codes = [c for c, _zh, _en in zone_pools(zone)]
    schema = {"uscc": pl.String, "year": pl.Int64, "code": pl.String, "member": pl.Boolean}
    long = pl.DataFrame(rows, schema=schema, orient="row")
    keys = long.select("uscc", "year").unique()
    cols = []
    for code in codes:
        part = long.filter(pl.col("code") == code).select(
            "uscc", "year", pl.col("member").alias(pool_field(code))
        )
        cols.append(part)
    out = keys
    for part in cols:
        out = out.join(part, on=["uscc", "year"], how="left")
    return out


@dataclass
class ZoneInputs:
    """Everything one matching pass reads."""

    zone: Any
    year: int
    panel: pl.DataFrame
    scores: pl.DataFrame
    run: ScoringRun | None
    fields: list[Field]
    data_version: int


def latest_year(zone) -> int | None:
    """The newest year of the zone's data, or None without data."""
    panel = zone_derived(zone)
    if panel.is_empty():
        return None
    return int(panel["year"].max())


_INPUTS: OrderedDict[tuple, tuple[pl.DataFrame, list[Field]]] = OrderedDict()
_SCORES: OrderedDict[tuple, pl.DataFrame] = OrderedDict()


def _remember(cache: OrderedDict, key: tuple, value: Any, size: int = 8) -> Any:
    with _LOCK:
        cache[key] = value
        while len(cache) > size:
            cache.popitem(last=False)
    return value


def pools_signature(zone) -> tuple:
    """A cheap signature of the zone's pool memberships and pools (count, newest id and
    time, members): it changes with every computation, override and new pool."""
    agg = PoolMembership.objects.filter(pool__zone=zone).aggregate(
        n=Count("id"),
        last=Max("id"),
        at=Max("computed_at"),
        members=Sum(Cast("member", IntegerField())),
    )
    pools = Pool.objects.filter(zone=zone).aggregate(n=Count("id"), at=Max("updated_at"))
    return (agg["n"], agg["last"], str(agg["at"]), agg["members"], pools["n"], str(pools["at"]))


def zone_inputs(zone, year: int | None = None) -> ZoneInputs | None:
    """The zone's inputs for `year` (default: its newest data year); None without data.

    The panel with the policy fields is cached per zone data version and pool signature,
    the scores per scoring run, so a one-firm rematch does not re-read the zone."""
    panel = zone_derived(zone)
    if panel.is_empty():
        return None
    year = year or int(panel["year"].max())
    key = (connection.alias, connection.settings_dict.get("NAME"), zone.pk, zone.data_version,
           pools_signature(zone), tuple(zone.custom_fields()))  # fmt: skip
    with _LOCK:
        hit = _INPUTS.get(key)
    if hit is None:
        frames = zone_frames(zone)
        extended = with_extras(panel, frames.get("qualifications"), pool_frame(zone))
        hit = _remember(_INPUTS, key, (extended, policy_fields(zone)), size=4)
    run = latest_run(zone, year)
    skey = (connection.alias, connection.settings_dict.get("NAME"), zone.pk, year,
            run.pk if run else None, str(run.finished_at) if run else "")  # fmt: skip
    with _LOCK:
        scores = _SCORES.get(skey)
    if scores is None:
        scores = _remember(_SCORES, skey, scores_frame(run, year))
    return ZoneInputs(
        zone=zone,
        year=year,
        panel=hit[0],
        scores=scores,
        run=run,
        fields=hit[1],
        data_version=zone.data_version,
    )


def _key(version: PolicyVersion, fields: list[Field]) -> str:
    return json.dumps(
        [version.pk, version.rule, version.amount, sorted(f.code for f in fields)],
        sort_keys=True,
        default=str,
    )


def criterion_of(version: PolicyVersion, fields: list[Field]) -> Criterion:
    """The version's criterion (id `pv<pk>`), compiled from its rule and amount once."""
    key = _key(version, fields)
    with _LOCK:
        hit = _CRITERIA.get(key)
        if hit is not None:
            _CRITERIA.move_to_end(key)
            return hit
    crit = renamed(
        load_policy(
            version.criterion_id,
            version.rule,
            version.amount,
            title_zh=version.title_zh,
            title_en=version.title_en,
            custom_fields=fields,
        ),
        version.criterion_id,
    )
    with _LOCK:
        _CRITERIA[key] = crit
        while len(_CRITERIA) > 2048:
            _CRITERIA.popitem(last=False)
    return crit


def compiled(versions: list[PolicyVersion], fields: list[Field]) -> list[Compiler]:
    """The versions' criteria compiled (one-firm path), cached by the list's contents."""
    key = json.dumps([_key(v, fields) for v in versions])
    with _LOCK:
        hit = _COMPILED.get(key)
        if hit is not None:
            _COMPILED.move_to_end(key)
            return hit
    out = [compile_criterion(criterion_of(v, fields), i) for i, v in enumerate(versions)]
    with _LOCK:
        _COMPILED[key] = out
        while len(_COMPILED) > 16:
            _COMPILED.popitem(last=False)
    return out


def _walk(tree: Any):
    if isinstance(tree, dict):
        yield tree
        for v in tree.values():
            yield from _walk(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from _walk(v)


def uses(version: PolicyVersion) -> set[str]:
    """What a version reads beyond firm data: 'scores' and/or 'pools'."""
    out = set()
    for node in _walk([version.rule, version.amount]):
        if "score" in node:
            out.add("scores")
        field = node.get("field")
        if isinstance(field, str) and field.startswith("pool_"):
            out.add("pools")
    return out


def read_fields(version: PolicyVersion) -> list[str]:
    """The field codes a version's rule and amount read (for pre-filling applications)."""
    out: list[str] = []
    for node in _walk([version.rule, version.amount]):
        for key in ("field",):
            v = node.get(key)
            if isinstance(v, str) and v not in out:
                out.append(v)
        for key in ("sum", "avg", "growth"):
            v = node.get(key)
            if isinstance(v, dict) and isinstance(v.get("field"), str) and v["field"] not in out:
                out.append(v["field"])
    return out
