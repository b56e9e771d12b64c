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

from innopoints.engine.rules import Criterion, DataError, Problem, RuleError, evaluate
from innopoints.engine.rules.compiler import Compiler, compile_criterion
from innopoints.engine.rules.criteria import load_criterion
from innopoints.engine.rules.evaluate import needs_of, prepare
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


def match_fast(
    panel: pl.DataFrame | pl.LazyFrame,
    criteria: Sequence[Criterion],
    year: int,
    *,
    scores: pl.DataFrame | None = None,
    batch_size: int = BATCH,
) -> pl.DataFrame:
    """Status, amount (exact, min, max) and missing fields of every firm × policy of
    `year`: one row per firm and criterion (`FAST_SCHEMA`), no reason texts."""
    if not criteria:
        return pl.DataFrame(schema=FAST_SCHEMA)
    compilers = _compile(criteria)
    frame = prepare(panel, needs_of(compilers), scores=scores).filter(pl.col("year") == year)
    frame = frame.collect().lazy()
    parts = []
    for start in range(0, len(compilers), batch_size):
        batch = compilers[start : start + batch_size]
        exprs: list[pl.Expr] = [pl.col("uscc")]
        for c in batch:
            score, lo, hi = c.score_exprs()
            k = c.i
            exprs += [
                c.status_expr().alias(f"s{k}"),
                score.alias(f"a{k}"),
                lo.alias(f"l{k}"),
                hi.alias(f"h{k}"),
                c.missing_expr().alias(f"m{k}"),
            ]
        wide = _staged(frame, batch).select(exprs).collect()
        for c in batch:
            k = c.i
            parts.append(
                wide.select(
                    "uscc",
                    pl.lit(c.c.id).alias("criterion"),
                    pl.col(f"s{k}").alias("status"),
                    pl.col(f"a{k}").alias("amount"),
                    pl.col(f"l{k}").alias("amount_min"),
                    pl.col(f"h{k}").alias("amount_max"),
                    pl.col(f"m{k}").alias("missing"),
                )
            )
    return pl.concat(parts, how="vertical")


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
        frame = _with_near_misses(panel, criteria, frame, year)
    return frame.with_columns(
        pl.col("near_miss").fill_null("").str.slice(0, MAX_TEXT),
        pl.col("near_miss_en").fill_null("").str.slice(0, MAX_TEXT),
    )


def _with_near_misses(
    panel: pl.DataFrame, criteria: Sequence[Criterion], frame: pl.DataFrame, year: int
) -> pl.DataFrame:
    """Near-miss texts for firms each policy finds ineligible (as the pools do)."""
    found = []
    for crit in criteria:
        failing = frame.filter(
            (pl.col("criterion") == crit.id) & (pl.col("status") == "ineligible")
        ).get_column("uscc")
        if failing.is_empty():
            continue
        subset = panel.filter(pl.col("uscc").is_in(failing.to_list()))
        texts = {}
        try:
            for lang in ("zh", "en"):
                texts[lang] = evaluate(subset, crit, year=year, lang=lang, near_miss=True)
        except DataError:  # pragma: no cover - the first pass would have failed already
            continue
        found.append(
            texts["zh"]
            .select("uscc", "criterion", pl.col("near_miss").alias("nm"), "near_miss_blocked")
            .with_columns(texts["en"].select(pl.col("near_miss").alias("nm_en")).to_series())
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
