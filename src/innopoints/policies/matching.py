"""Policy matching: every policy version × every firm in one Polars pass (no Django).

A policy version compiles to one criterion of the rules engine: its 申报条件 is the
criterion's rule and its benefit formula the criterion's only score part (`amount`), so
one compiled criterion gives, per firm, the three-valued status, the amount (exact, or
the interval still possible when data are missing), the missing fields and the reasons.

- `load_policy` / `validate_policy`: build or check the criterion (bilingual paths
  `rule.all[1]...`, `amount.min[0]...`).
- `match_fast`: status, amount interval and missing fields of every firm × policy, no
  reason texts: the full-zone matching (batches of compiled criteria, one `select` each).
- `match_full`: the same with reasons in Chinese and English and near-misses for firms
  that fail a threshold (what the platform stores).
- `match_one_firm`: a firm's rows through the engine's row-wise path (the live rematch).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import polars as pl

from innopoints.engine.rules import Criterion, Problem, RuleError, evaluate
from innopoints.engine.rules.compiler import Compiler, compile_criterion
from innopoints.engine.rules.criteria import load_criterion
from innopoints.engine.rules.evaluate import near_miss_exprs, needs_of, prepare
from innopoints.engine.rules.rowwise import evaluate_rows, prepare_rows
from innopoints.standard.catalogue import QUALIFICATION_TYPES, Field, Kind, Table

AMOUNT_PART = "amount"
BATCH = 25  # criteria per engine pass in the fast path
REASON_BATCH = 10
MAX_TEXT = 4000
STATUSES = ("eligible", "ineligible", "unknown")
FAST_SCHEMA = {
    "uscc": pl.String,
    "criterion": pl.String,
    "status": pl.String,
    "amount": pl.Float64,
    "amount_min": pl.Float64,
    "amount_max": pl.Float64,
    "missing": pl.String,
}
# the score line the engine puts before the reasons of a scored criterion
_SCORE_LINE = r"^(?:评分|score )[^；;]*(?:；|; )?"


def extra_fields(pools: Sequence[tuple[str, str, str]] = ()) -> list[Field]:
    """Fields policies may use beyond the data standard: `new_<qualification>` (the
    firm's first certificate of that type starts in the year: 首次认定) and
    `pool_<code>` per cultivation pool `(code, name_zh, name_en)` (member in the year)."""
    out = [
        Field(f"new_{kind}", f"当年首次认定{zh}", f"first recognised as {en} this year",
              Kind.BOOL, Table.DERIVED, custom=True)
        for kind, (zh, en) in QUALIFICATION_TYPES.items()
    ]  # fmt: skip
    out += [
        Field(pool_field(code), f"入选{zh}培育库", f"in the pool {en}", Kind.BOOL, Table.DERIVED,
              custom=True)
        for code, zh, en in pools
    ]  # fmt: skip
    return out


def pool_field(code: str) -> str:
    """The field code of a pool's membership (`pool_<code>`, dashes as underscores)."""
    return "pool_" + code.replace("-", "_")


def with_extras(
    panel: pl.DataFrame,
    qualifications: pl.DataFrame | None = None,
    pools: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The panel with the `extra_fields` columns: `new_<type>` from the qualifications
    table (False without a certificate of the type) and the `pool_<code>` columns of
    `pools` (uscc, year, pool_... ; null where a pool was not computed for the year)."""
    first_cols = [f"new_{k}" for k in QUALIFICATION_TYPES]
    if qualifications is not None and not qualifications.is_empty():
        first = (
            qualifications.filter(pl.col("type").is_in(list(QUALIFICATION_TYPES)))
            .group_by("uscc", "type")
            .agg(pl.col("valid_from").min().dt.year().cast(pl.Int64).alias("y"))
        )
        cols = [
            pl.col("y").filter(pl.col("type") == k).first().alias(f"_first_{k}")
            for k in QUALIFICATION_TYPES
        ]
        firsts = first.group_by("uscc").agg(cols)
        panel = (
            panel.join(firsts, on="uscc", how="left")
            .with_columns(
                (pl.col(f"_first_{k}") == pl.col("year")).fill_null(False).alias(f"new_{k}")
                for k in QUALIFICATION_TYPES
            )
            .drop([f"_first_{k}" for k in QUALIFICATION_TYPES])
        )
    else:
        panel = panel.with_columns(pl.lit(False).alias(c) for c in first_cols)
    if pools is not None and pools.width > 2:
        panel = panel.join(pools, on=["uscc", "year"], how="left")
    return panel


def policy_document(cid: str, title_zh: str, title_en: str, rule: Any, amount: Any) -> dict:
    """The criterion document of a policy version (rule + amount as the only part)."""
    return {
        "id": cid,
        "name": {"zh": title_zh or cid, "en": title_en or title_zh or cid},
        "rules": rule,
        "score": {
            "parts": [
                {"name": AMOUNT_PART, "zh": "兑现金额", "en": "benefit", "max": 0, "value": amount}
            ]
        },
    }


def _paths(problems: list[Problem]) -> list[Problem]:
    out = []
    for p in problems:
        path = p.path
        if path == "rules" or path.startswith(("rules.", "rules[")):
            path = "rule" + path[len("rules") :]
        elif path.startswith("score.parts[0].value"):
            path = "amount" + path[len("score.parts[0].value") :]
        out.append(Problem(path, p.message))
    return out


def load_policy(
    cid: str,
    rule: Any,
    amount: Any,
    *,
    title_zh: str = "",
    title_en: str = "",
    custom_fields: Sequence[Field] = (),
) -> Criterion:
    """The criterion of a policy version; raises `RuleError` with `rule…`/`amount…` paths."""
    try:
        return load_criterion(
            policy_document(cid, title_zh, title_en, rule, amount),
            custom_fields=tuple(custom_fields),
        )
    except RuleError as exc:
        raise RuleError(_paths(exc.problems)) from None


def validate_policy(rule: Any, amount: Any, custom_fields: Sequence[Field] = ()) -> list[Problem]:
    """Every problem of a policy's rule and amount formula (empty when valid)."""
    if rule is None:
        return [Problem("rule", "required")]
    if amount is None:
        return [Problem("amount", "required")]
    try:
        load_policy("check", rule, amount, custom_fields=custom_fields)
    except RuleError as exc:
        return exc.problems
    return []


def policy_key(rule: Any, amount: Any) -> str:
    """A canonical text of rule + amount (cache key, content hash input)."""
    return json.dumps([rule, amount], sort_keys=True, ensure_ascii=False, default=str)


# ----------------------------------------------------------------------------- fast path


def _compile(criteria: Sequence[Criterion]) -> list[Compiler]:
    return [compile_criterion(c, i) for i, c in enumerate(criteria)]


def _staged(frame: pl.LazyFrame, compilers: Sequence[Compiler]) -> pl.LazyFrame:
    stages: list[list[pl.Expr]] = []
    for c in compilers:
        for k, exprs in enumerate(c.stages()):
            while len(stages) <= k:
                stages.append([])
            stages[k].extend(exprs)
    for exprs in stages:
        if exprs:
            frame = frame.with_columns(exprs)
    return frame


STATUS_ENUM = pl.Enum(list(STATUSES))


def match_wide(
    panel: pl.DataFrame | pl.LazyFrame,
    criteria: Sequence[Criterion],
    year: int,
    *,
    scores: pl.DataFrame | None = None,
    batch_size: int = BATCH,
    missing: bool = False,
) -> list[pl.DataFrame]:
    """Every firm × policy of `year`, wide: per batch of compiled criteria one frame with
    `uscc` and, per criterion k (its index), `s{k}` status (Enum), `l{k}`/`h{k}` the amount
    interval (equal when exact) and, with `missing`, `m{k}` the missing field codes."""
    compilers = _compile(criteria)
    frame = prepare(panel, needs_of(compilers), scores=scores).filter(pl.col("year") == year)
    frame = frame.collect().lazy()
    out = []
    for start in range(0, len(compilers), batch_size):
        batch = compilers[start : start + batch_size]
        exprs: list[pl.Expr] = [pl.col("uscc")]
        for c in batch:
            _score, lo, hi = c.score_exprs()
            k = c.i
            exprs += [
                c.status_expr().cast(STATUS_ENUM).alias(f"s{k}"),
                lo.alias(f"l{k}"),
                hi.alias(f"h{k}"),
            ]
            if missing:
                exprs.append(c.missing_expr().alias(f"m{k}"))
        out.append(_staged(frame, batch).select(exprs).collect())
    return out


def match_fast(
    panel: pl.DataFrame | pl.LazyFrame,
    criteria: Sequence[Criterion],
    year: int,
    *,
    scores: pl.DataFrame | None = None,
    batch_size: int = BATCH,
    missing: bool = True,
) -> pl.DataFrame:
    """`match_wide` as one row per firm and criterion (`FAST_SCHEMA`, status as text),
    no reason texts: for a few policies over all firms (the sandbox, tests)."""
    if not criteria:
        return pl.DataFrame(schema=FAST_SCHEMA)
    parts = []
    for wide in match_wide(
        panel, criteria, year, scores=scores, batch_size=batch_size, missing=missing
    ):
        ks = sorted(int(c[1:]) for c in wide.columns if c.startswith("s"))
        for k in ks:
            lo, hi = pl.col(f"l{k}"), pl.col(f"h{k}")
            parts.append(
                wide.select(
                    "uscc",
                    pl.lit(criteria[k].id).alias("criterion"),
                    pl.col(f"s{k}").cast(pl.String).alias("status"),
                    pl.when(lo == hi).then(lo).alias("amount"),
                    lo.alias("amount_min"),
                    hi.alias("amount_max"),
                    (pl.col(f"m{k}") if missing else pl.lit(None, dtype=pl.String)).alias(
                        "missing"
                    ),
                )
            )
    return pl.concat(parts, how="vertical")


def long_codes(wide: Sequence[pl.DataFrame]) -> pl.DataFrame:
    """`match_wide` as one compact row per firm × criterion: `firm` (row index, UInt32),
    `policy` (criterion index, UInt16), `status` (Enum), `amount_min`, `amount_max`."""
    parts = []
    for frame in wide:
        ks = sorted(int(c[1:]) for c in frame.columns if c.startswith("s"))
        firm = pl.int_range(0, pl.len(), dtype=pl.UInt32).alias("firm")
        for k in ks:
            parts.append(
                frame.select(
                    firm,
                    pl.lit(k, dtype=pl.UInt16).alias("policy"),
                    pl.col(f"s{k}").alias("status"),
                    pl.col(f"l{k}").alias("amount_min"),
                    pl.col(f"h{k}").alias("amount_max"),
                )
            )
    return pl.concat(parts, how="vertical", rechunk=False)


# ----------------------------------------------------------------------------- stored results


def _strip_score(col: str) -> pl.Expr:
    return pl.col(col).fill_null("").str.replace(_SCORE_LINE, "").str.slice(0, MAX_TEXT)


def match_full(
    panel: pl.DataFrame,
    criteria: Sequence[Criterion],
    year: int,
    *,
    scores: pl.DataFrame | None = None,
    near_miss: bool = True,
) -> pl.DataFrame:
    """Every firm × policy with reasons (zh, en) and near-misses: columns uscc, criterion,
    status, amount, amount_min, amount_max, missing, reasons, reasons_en, near_miss,
    near_miss_en, near_miss_blocked."""
    out = {}
    for lang in ("zh", "en"):
        out[lang] = evaluate(
            panel, list(criteria), year=year, lang=lang, scores=scores, batch_size=REASON_BATCH
        )
    frame = (
        out["zh"]
        .select(
            "uscc",
            "criterion",
            "status",
            pl.col("score").alias("amount"),
            pl.col("score_min").alias("amount_min"),
            pl.col("score_max").alias("amount_max"),
            pl.col("missing").fill_null(""),
            _strip_score("reasons").alias("reasons"),
        )
        .with_columns(
            out["en"].select(_strip_score("reasons").alias("reasons_en")).to_series(),
            pl.lit(None, dtype=pl.String).alias("near_miss"),
            pl.lit(None, dtype=pl.String).alias("near_miss_en"),
            pl.lit(None, dtype=pl.Boolean).alias("near_miss_blocked"),
        )
    )
    if near_miss:
        frame = _with_near_misses(panel, criteria, frame, year, scores)
    return frame.with_columns(
        pl.col("near_miss").fill_null("").str.slice(0, MAX_TEXT),
        pl.col("near_miss_en").fill_null("").str.slice(0, MAX_TEXT),
    )


def near_misses(
    panel: pl.DataFrame | pl.LazyFrame,
    criteria: Sequence[Criterion],
    year: int,
    *,
    scores: pl.DataFrame | None = None,
    batch_size: int = REASON_BATCH * 5,
) -> pl.DataFrame:
    """Near-miss texts (zh, en) of every firm × policy of `year` that is ineligible: the
    smallest single threshold change that passes and what else blocks. All criteria of a
    batch share one Polars plan per language (the engine's `near_miss_exprs`)."""
    compilers = _compile(criteria)
    schema = {"uscc": pl.String, "criterion": pl.String, "near_miss": pl.String,
              "near_miss_en": pl.String, "near_miss_blocked": pl.Boolean}  # fmt: skip
    if not compilers:
        return pl.DataFrame(schema=schema)
    frame = prepare(panel, needs_of(compilers), scores=scores).filter(pl.col("year") == year)
    frame = frame.collect().lazy()
    parts = []
    for start in range(0, len(compilers), batch_size):
        batch = compilers[start : start + batch_size]
        staged = _staged(frame, batch).collect().lazy()
        texts = {}
        for lang in ("zh", "en"):
            stages: list[list[pl.Expr]] = []
            exprs: list[pl.Expr] = [pl.col("uscc")]
            for c in batch:
                st, text, blocked = near_miss_exprs(c, lang)
                for k, e in enumerate(st):
                    while len(stages) <= k:
                        stages.append([])
                    stages[k].extend(e)
                exprs.append(text.alias(f"t{c.i}"))
                if lang == "zh":
                    exprs.append(blocked.alias(f"b{c.i}"))
            lazy = staged
            for e in stages:
                if e:
                    lazy = lazy.with_columns(e)
            texts[lang] = lazy.select(exprs).collect()
        for c in batch:
            parts.append(
                texts["zh"].select(
                    "uscc",
                    pl.lit(c.c.id).alias("criterion"),
                    pl.col(f"t{c.i}").alias("near_miss"),
                    texts["en"].get_column(f"t{c.i}").alias("near_miss_en"),
                    pl.col(f"b{c.i}").alias("near_miss_blocked"),
                )
            )
    return pl.concat(parts, how="vertical")


def _with_near_misses(
    panel: pl.DataFrame,
    criteria: Sequence[Criterion],
    frame: pl.DataFrame,
    year: int,
    scores: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`frame` with the near-miss columns filled for the firms `criteria` find ineligible."""
    failing = frame.filter(pl.col("status") == "ineligible")
    if failing.is_empty() or not criteria:
        return frame
    subset = panel.filter(pl.col("uscc").is_in(failing["uscc"].unique().to_list()))
    near = near_misses(subset, criteria, year, scores=scores).rename(
        {"near_miss": "nm", "near_miss_en": "nm_en", "near_miss_blocked": "nm_blocked"}
    )
    return (
        frame.join(near, on=["uscc", "criterion"], how="left")
        .with_columns(
            pl.coalesce("nm", "near_miss").alias("near_miss"),
            pl.coalesce("nm_en", "near_miss_en").alias("near_miss_en"),
            pl.coalesce("nm_blocked", "near_miss_blocked").alias("near_miss_blocked"),
        )
        .drop("nm", "nm_en", "nm_blocked")
    )


# ----------------------------------------------------------------------------- one firm


def match_one_firm(
    rows: pl.DataFrame,
    compilers: Sequence[Compiler],
    year: int,
    *,
    scores: pl.DataFrame | None = None,
    langs: Sequence[str] = ("zh", "en"),
) -> pl.DataFrame:
    """One firm's rows (all its years) against compiled policies, row-wise in Python
    (the engine's one-firm path: identical results, no Polars planning). Same columns as
    `match_full` without near-misses; empty when the firm has no row for `year`."""
    prepared = prepare_rows(rows, needs_of(compilers), year=year, scores=scores)
    if prepared is None:  # rules that need the registry tables: the Polars path
        return match_full(rows, [c.c for c in compilers], year, scores=scores, near_miss=False)
    if not prepared:
        return pl.DataFrame(schema={**FAST_SCHEMA, "reasons": pl.String, "reasons_en": pl.String})
    results = {lang: evaluate_rows(prepared, compilers, lang)[0] for lang in langs}
    zh = results[langs[0]]
    en = results.get("en", zh)
    uscc = prepared[0]["uscc"]
    frame = pl.DataFrame(
        {
            "uscc": [uscc] * len(compilers),
            "criterion": [c.c.id for c in compilers],
            "status": [r["status"] for r in zh],
            "amount": [r["score"] for r in zh],
            "amount_min": [r["score_min"] for r in zh],
            "amount_max": [r["score_max"] for r in zh],
            "missing": [r.get("missing") or "" for r in zh],
            "reasons": [r["reasons"] or "" for r in zh],
            "reasons_en": [r["reasons"] or "" for r in en],
        },
        schema={**FAST_SCHEMA, "reasons": pl.String, "reasons_en": pl.String},
    )
    return frame.with_columns(
        pl.col("reasons").str.replace(_SCORE_LINE, ""),
        pl.col("reasons_en").str.replace(_SCORE_LINE, ""),
    )


def renamed(criterion: Criterion, cid: str) -> Criterion:
    """The criterion under another id."""
    return dataclasses.replace(criterion, id=cid)
