"""Evaluate criteria over a wide panel: prepare the columns rules need, run, explain.

`evaluate(panel, criteria, year=..., lang=...)` returns one row per firm-year and
criterion: `uscc, year, criterion, status, score, score_min, score_max, reasons, missing,
parts` (+ `near_miss`, `near_miss_blocked` on request). The panel is the wide panel of
`innopoints.standard.panel`; `derive()` runs first unless the panel is already derived.
Earlier years are joined by `year − k` (a missing year stays missing), scoring results by
`uscc + year`, and the registry tables (qualifications, negative records) are used when a
rule asks for a date offset or a window the year-end flags cannot answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from innopoints.engine.rules.compiler import (
    RATIO_PARTS,
    Compiler,
    Leaf,
    Needs,
    compile_criterion,
    data_col,
    has_col,
    neg_col,
)
from innopoints.engine.rules.criteria import Criterion
from innopoints.engine.rules.language import Compare, FieldRef, Lit
from innopoints.engine.rules.reference import by_identity
from innopoints.engine.rules.render import (
    fmt_expr,
    fmt_of,
    fmt_py,
    is_en,
    sentence,
    value_text,
)
from innopoints.engine.rules.rowwise import ROW_LIMIT, evaluate_rows, prepare_rows
from innopoints.standard.catalogue import STANDARD_FIELDS
from innopoints.standard.derived import derive

RESULT_SCHEMA = {
    "uscc": pl.String,
    "year": pl.Int64,
    "criterion": pl.String,
    "status": pl.String,
    "score": pl.Float64,
    "score_min": pl.Float64,
    "score_max": pl.Float64,
    "reasons": pl.String,
    "missing": pl.String,
}


OUTPUT = ("criterion", "status", "score", "score_min", "score_max", "reasons", "missing", "parts")


class DataError(ValueError):
    """The data cannot answer the rules (a needed table or column is absent)."""


def _compile_all(criteria: Sequence[Criterion]) -> list[Compiler]:
    return [compile_criterion(c, i) for i, c in enumerate(criteria)]


def needs_of(compilers: Sequence[Compiler]) -> Needs:
    """The union of what the compiled rules need."""
    needs = Needs()
    for c in compilers:
        needs.update(c.needs)
    return needs


def _dtype(code: str) -> pl.DataType:
    if code.startswith(("has_", "neg_")):
        return pl.Boolean()
    f = STANDARD_FIELDS.get(code)
    return f.polars_dtype if f is not None else pl.Float64()


def _is_derived(frame: pl.LazyFrame) -> bool:
    return "age_years" in frame.collect_schema().names()


def prepare(
    panel: pl.DataFrame | pl.LazyFrame,
    needs: Needs,
    *,
    scores: pl.DataFrame | None = None,
    qualifications: pl.DataFrame | None = None,
    negatives: pl.DataFrame | None = None,
    run_derive: bool | None = None,
) -> pl.LazyFrame:
    """The panel with every column the rules need (lags, scores, registry windows)."""
    frame = panel.lazy() if isinstance(panel, pl.DataFrame) else panel
    if run_derive or (run_derive is None and not _is_derived(frame)):
        frame = derive(frame)
    names = set(frame.collect_schema().names())
    for key in ("uscc", "year"):
        if key not in names:
            raise DataError(f"the panel lacks the key column {key!r}")
    # flags needed at year-end but absent from the panel: from the registry, or an error
    for kind, offset in sorted(needs.has):
        if offset == 0 and has_col(kind) in names:
            continue
        if qualifications is None:
            raise DataError(
                f"the rules ask for qualification {kind!r}"
                + (f" at 31 Dec {offset:+d} days" if offset else "")
                + " but the panel has no has_ column for it and no qualifications table was given"
            )
        frame = _registry_flag(frame, qualifications, kind, has_col(kind, offset), offset, None)
    snapshot_negs: dict[str, list[int]] = {}
    for kind, within in sorted(needs.negatives, key=lambda x: (x[0], x[1] or 0)):
        if not within:
            if neg_col(kind) not in names:
                if negatives is None:
                    raise DataError(f"the panel has no neg_{kind} column and no negatives table")
                frame = _registry_flag(frame, negatives, kind, neg_col(kind), 0, None)
            continue
        if negatives is not None:
            frame = _registry_flag(frame, negatives, kind, neg_col(kind, within), 0, within)
        elif neg_col(kind) in names:
            snapshot_negs.setdefault(kind, []).append(within)
        else:
            raise DataError(f"the panel has no neg_{kind} column and no negatives table")
    lags: dict[int, set[str]] = {}
    for code, lag in needs.lags:
        lags.setdefault(lag, set()).add(code)
    for kind, windows in snapshot_negs.items():
        for k in range(1, max(windows)):
            lags.setdefault(k, set()).add(neg_col(kind))
    names = set(frame.collect_schema().names())
    absent = sorted(
        {c for c in needs.columns if c not in names}
        | {c for cs in lags.values() for c in cs if c not in names}
    )
    if absent:
        frame = frame.with_columns(pl.lit(None, dtype=_dtype(c)).alias(c) for c in absent)
    if lags:
        base = frame
        for k in sorted(lags):
            cols = sorted(lags[k])
            shifted = base.select(
                "uscc",
                (pl.col("year") + k).alias("year"),
                *[pl.col(c).alias(data_col(c, k)) for c in cols],
            )
            frame = frame.join(shifted, on=["uscc", "year"], how="left", maintain_order="left")
    for kind, windows in snapshot_negs.items():
        for w in set(windows):
            cols = [pl.col(neg_col(kind))] + [
                pl.col(data_col(neg_col(kind), k)).fill_null(False) for k in range(1, w)
            ]
            frame = frame.with_columns(pl.any_horizontal(cols).alias(neg_col(kind, w)))
    if needs.scores:
        if scores is None:
            raise DataError(
                "the rules use scoring results ({score: ...}); pass the scores of a scoring run"
            )
        have = set(scores.columns)
        lacking = sorted(c for c in needs.scores if c not in have)
        if lacking:
            raise DataError(f"the scores lack columns: {', '.join(lacking)}")
        frame = frame.join(
            scores.lazy().select(
                "uscc", "year", *[pl.col(c).alias(f"score__{c}") for c in sorted(needs.scores)]
            ),
            on=["uscc", "year"],
            how="left",
            maintain_order="left",
        )
    return frame


def _registry_flag(
    frame: pl.LazyFrame,
    table: pl.DataFrame,
    kind: str,
    name: str,
    offset_days: int,
    within_years: int | None,
) -> pl.LazyFrame:
    """A per firm-year flag from a registry table (qualifications or negative records)."""
    cols = set(table.columns)
    if {"valid_from"} <= cols:
        start, end = "valid_from", "valid_until"
    elif {"occurred_on"} <= cols:
        start, end = "occurred_on", "cleared_on"
    else:
        raise DataError("a registry table needs valid_from/valid_until or occurred_on/cleared_on")
    keys = frame.select("uscc", "year")
    on = pl.date(pl.col("year"), 12, 31) + pl.duration(days=offset_days)
    records = table.lazy().filter(pl.col("type") == kind).select("uscc", start, end)
    if within_years:
        window_start = pl.date(pl.col("year") - within_years, 12, 31)
        active = (pl.col(start) <= on) & (pl.col(end).is_null() | (pl.col(end) > window_start))
    elif start == "valid_from":
        active = (pl.col(start) <= on) & (pl.col(end).is_null() | (pl.col(end) >= on))
    else:
        active = (pl.col(start) <= on) & (pl.col(end).is_null() | (pl.col(end) > on))
    hits = (
        keys.join(records, on="uscc", how="inner")
        .filter(active)
        .select("uscc", "year")
        .unique()
        .with_columns(pl.lit(True).alias(name))
    )
    frame = frame.drop(name, strict=False)
    return frame.join(hits, on=["uscc", "year"], how="left", maintain_order="left").with_columns(
        pl.col(name).fill_null(False)
    )


def _merged_stages(compilers: Sequence[Compiler], lang: str | None = None) -> list[list[pl.Expr]]:
    """Stage k of every criterion in one `with_columns`; with `lang`, a last stage of the
    value texts the reasons show (each distinct value formatted once for all criteria:
    then build the reasons with `staged_texts=True`)."""
    stages: list[list[pl.Expr]] = []
    for c in compilers:
        for k, exprs in enumerate(c.stages()):
            while len(stages) <= k:
                stages.append([])
            stages[k].extend(exprs)
    if lang is not None:
        texts: dict[str, pl.Expr] = {}
        for c in compilers:
            texts.update(c.text_exprs(lang))
        stages.append([e.alias(n) for n, e in texts.items()])
    return [s for s in stages if s]


def output_exprs(
    c: Compiler, lang: str, near_miss: bool = False, staged_texts: bool = False
) -> list[pl.Expr]:
    """The output columns of one compiled criterion (after its stages have run; with
    `staged_texts`, after `_merged_stages(..., lang)`)."""
    score, lo, hi = c.score_exprs()
    out = [
        pl.lit(c.c.id).alias("criterion"),
        c.status_expr().alias("status"),
        score.alias("score"),
        lo.alias("score_min"),
        hi.alias("score_max"),
        c.reasons_expr(lang, staged_texts).alias("reasons"),
        c.missing_expr().alias("missing"),
        c.parts_expr().alias("parts"),
    ]
    if near_miss:
        _, text, blocked = near_miss_exprs(c, lang)
        out += [text.alias("near_miss"), blocked.alias("near_miss_blocked")]
    return out


def evaluate(
    panel: pl.DataFrame | pl.LazyFrame,
    criteria: Sequence[Criterion] | Criterion,
    *,
    year: int | None = None,
    lang: str = "zh",
    scores: pl.DataFrame | None = None,
    qualifications: pl.DataFrame | None = None,
    negatives: pl.DataFrame | None = None,
    near_miss: bool = False,
    run_derive: bool | None = None,
    batch_size: int | None = None,
) -> pl.DataFrame:
    """Evaluate criteria over every firm at once; one row per firm-year and criterion.

    `year` keeps one year (earlier years still feed lags); `scores` is a scoring run's
    frame (uscc, year, total, pct_stage, band, ...) for rules that use `{score: ...}`.
    """
    if isinstance(criteria, Criterion):
        criteria = [criteria]
    compilers = _compile_all(criteria)
    if not near_miss and compilers:
        small = _small_rows(
            panel,
            compilers,
            year=year,
            prepared=False,
            scores=scores,
            qualifications=qualifications,
            negatives=negatives,
            run_derive=run_derive,
        )
        if small is not None:
            return _long_frame(small, compilers, lang)
    frame = prepare(
        panel,
        needs_of(compilers),
        scores=scores,
        qualifications=qualifications,
        negatives=negatives,
        run_derive=run_derive,
    )
    if year is not None:
        frame = frame.filter(pl.col("year") == year)
    if batch_size is None:
        batch_size = len(compilers) or 1
    results = []
    for start in range(0, len(compilers), batch_size):
        batch = compilers[start : start + batch_size]
        staged = frame
        for exprs in _merged_stages(batch, lang):
            staged = staged.with_columns(exprs)
        staged = staged.collect()
        if not near_miss:
            # every criterion of the pass in one select (parallel), then split
            wide = staged.select(
                "uscc",
                "year",
                *[
                    e.name.suffix(f"\x00{k}")
                    for k, c in enumerate(batch)
                    for e in output_exprs(c, lang, staged_texts=True)
                ],
            )
            for k in range(len(batch)):
                results.append(
                    wide.select("uscc", "year", *[pl.col(f"{n}\x00{k}").alias(n) for n in OUTPUT])
                )
            continue
        for c in batch:
            lazy = staged.lazy()
            for exprs in near_miss_exprs(c, lang)[0]:
                lazy = lazy.with_columns(exprs)
            rows = lazy.collect()
            results.append(
                rows.select("uscc", "year", *output_exprs(c, lang, near_miss, staged_texts=True))
            )
    if not results:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    return pl.concat(results, how="vertical").sort(["uscc", "year"], maintain_order=True)


def evaluate_wide(
    panel: pl.DataFrame | pl.LazyFrame,
    compilers: Sequence[Compiler],
    *,
    lang: str = "zh",
    prepared: bool = False,
    reasons: bool = True,
    year: int | None = None,
    **kwargs: Any,
) -> pl.DataFrame:
    """All criteria in one row: columns `<i>:<id>:status|score_min|reasons` (one firm).

    A small panel (≤ `rowwise.ROW_LIMIT` rows of `year`) is evaluated row-wise in Python
    (identical results, no Polars planning); a larger one in one Polars select. `year`
    keeps one year (earlier years still feed lags).
    """
    rows = _small_rows(panel, compilers, year=year, prepared=prepared, **kwargs)
    if rows is not None:
        return _wide_frame(rows, compilers, lang, reasons)
    frame = panel.lazy() if isinstance(panel, pl.DataFrame) else panel
    if not prepared:
        frame = prepare(frame, needs_of(compilers), **kwargs)
    if year is not None:
        frame = frame.filter(pl.col("year") == year)
    for exprs in _merged_stages(compilers, lang if reasons else None):
        frame = frame.with_columns(exprs)
    out: list[pl.Expr] = [pl.col("uscc"), pl.col("year")]
    for c in compilers:
        key = f"{c.i}:{c.c.id}"
        out.append(c.status_expr().alias(f"{key}:status"))
        if c.part_names:
            out.append(c.score_exprs()[1].alias(f"{key}:score_min"))
        if reasons:
            out.append(c.reasons_expr(lang, staged_texts=True).alias(f"{key}:reasons"))
    return frame.select(out).collect()


def evaluate_one_firm(
    panel: pl.DataFrame,
    compilers: Sequence[Compiler],
    *,
    year: int,
    lang: str = "zh",
    reasons: bool = True,
    scores: pl.DataFrame | None = None,
) -> list[dict[str, Any]] | None:
    """One firm's result of every criterion for `year` (dicts with at least status,
    score_min and reasons; in the order of `compilers`), or None when the firm
    has no row that year. `panel` holds the firm's rows (earlier years feed lags).

    The live path: row-wise in Python, no frame is built for the output; `reasons=False`
    skips the texts. Identical to `evaluate_wide` (which it falls back to when the
    rules need registry tables).
    """
    rows = _small_rows(panel, compilers, year=year, prepared=False, scores=scores)
    if rows is not None:
        if not rows:
            return None
        return evaluate_rows(rows[:1], compilers, lang, full=False, texts=reasons)[0]
    wide = evaluate_wide(panel, compilers, lang=lang, reasons=reasons, year=year, scores=scores)
    if wide.is_empty():
        return None
    row = wide.row(0, named=True)
    out = []
    for c in compilers:
        key = f"{c.i}:{c.c.id}"
        low = row.get(f"{key}:score_min")
        out.append(
            {
                "status": row[f"{key}:status"],
                "score_min": low,
                "reasons": row.get(f"{key}:reasons") or "",
            }
        )
    return out


def _small_rows(
    panel: pl.DataFrame | pl.LazyFrame,
    compilers: Sequence[Compiler],
    *,
    year: int | None,
    prepared: bool,
    scores: pl.DataFrame | None = None,
    qualifications: pl.DataFrame | None = None,
    negatives: pl.DataFrame | None = None,
    run_derive: bool | None = None,
) -> list[dict[str, Any]] | None:
    """The prepared rows (of `year`) when the panel is small enough for the row-wise path."""
    if not isinstance(panel, pl.DataFrame) or qualifications is not None or negatives is not None:
        return None
    if panel.height > 4 * ROW_LIMIT:
        return None
    if year is not None and "year" in panel.columns:
        if int((panel["year"] == year).sum()) > ROW_LIMIT:
            return None
    elif panel.height > ROW_LIMIT:
        return None
    frame = panel
    if not prepared and (run_derive or (run_derive is None and "age_years" not in panel.columns)):
        frame = derive(panel.lazy()).collect()
    if prepared:
        rows = frame.to_dicts()
        return rows if year is None else [r for r in rows if r["year"] == year]
    return prepare_rows(frame, _needs_cached(compilers), year=year, scores=scores)


_NEEDS: dict[tuple[int, ...], tuple[list[Compiler], Needs]] = {}


def _needs_cached(compilers: Sequence[Compiler]) -> Needs:
    """`needs_of`, remembered for the last few lists of compilers (the live path)."""
    return by_identity(_NEEDS, compilers, lambda: needs_of(compilers))


PARTS_DTYPE = pl.List(pl.Struct({"part": pl.String, "min": pl.Float64, "max": pl.Float64}))


def _long_frame(
    rows: list[dict[str, Any]], compilers: Sequence[Compiler], lang: str
) -> pl.DataFrame:
    """`evaluate`'s output from row-wise results (same order: by uscc, year, criterion)."""
    rows = sorted(rows, key=lambda r: (r["uscc"], r["year"]))
    results = evaluate_rows(rows, compilers, lang)
    out: dict[str, list[Any]] = {k: [] for k in (*RESULT_SCHEMA, "parts")}
    for row, res in zip(rows, results, strict=True):
        for c, r in zip(compilers, res, strict=True):
            out["uscc"].append(row["uscc"])
            out["year"].append(row["year"])
            out["criterion"].append(c.c.id)
            for k in ("status", "score", "score_min", "score_max", "reasons", "missing", "parts"):
                out[k].append(r[k])
    return pl.DataFrame(out, schema={**RESULT_SCHEMA, "parts": PARTS_DTYPE})


def _wide_frame(
    rows: list[dict[str, Any]], compilers: Sequence[Compiler], lang: str, reasons: bool
) -> pl.DataFrame:
    results = evaluate_rows(rows, compilers, lang, full=False)
    schema: dict[str, Any] = {"uscc": pl.String, "year": pl.Int64}
    fields: list[tuple[int, str]] = []
    for k, c in enumerate(compilers):
        key = f"{c.i}:{c.c.id}"
        schema[f"{key}:status"] = pl.String
        fields.append((k, "status"))
        if c.part_names:
            schema[f"{key}:score_min"] = pl.Float64
            fields.append((k, "score_min"))
        if reasons:
            schema[f"{key}:reasons"] = pl.String
            fields.append((k, "reasons"))
    data = [
        [row["uscc"], row["year"], *[res[k][f] for k, f in fields]]
        for row, res in zip(rows, results, strict=True)
    ]
    return pl.DataFrame(data, schema=schema, orient="row")


# ----------------------------------------------------------------------------- near-miss


def _threshold(leaf: Leaf) -> tuple[str, float] | None:
    """(op the value must meet, threshold) for a numeric threshold leaf, else None."""
    node = leaf.node
    if not isinstance(node, Compare) or node.op not in (">=", ">", "<=", "<"):
        return None
    left, right = node.args
    if not isinstance(right, Lit) or isinstance(right.value, str | bool):
        return None
    if leaf.vals[0].kind != "num":
        return None
    op = node.op
    if leaf.polarity:  # under `not`: the value must fail the written comparison
        op = {">=": "<", ">": "<=", "<=": ">", "<": ">="}[op]
    return op, float(right.value)


def _change_text(c: Compiler, leaf: Leaf, op: str, t: float, lang: str) -> pl.Expr:
    """'研发费用占营业收入比例 3.2% → 4%：研发费用 +80万元' as an expression."""
    en = is_en(lang)
    left = leaf.node.args[0]  # type: ignore[union-attr]
    v = leaf.vals[0]
    fmt = fmt_of(left)
    name = value_text(left, lang, c.c.fields)
    current = v.lo if op in (">=", ">") else v.hi
    target = fmt_py(t, fmt, lang)
    arrow = " → " if en else " → "
    sym = "" if op in (">=", "<=") else (">" if op == ">" else "<")
    head = pl.concat_str(
        pl.lit(name + " "), fmt_expr(current, fmt, lang), pl.lit(arrow + sym + target)
    )
    if isinstance(left, FieldRef) and left.year == 0 and left.code in RATIO_PARTS:
        num, den, whole = RATIO_PARTS[left.code]
        n, d = pl.col(num).cast(pl.Float64), pl.col(den).cast(pl.Float64)
        need = d * t
        if whole:
            need = (
                (need - 1e-9).ceil()
                if op == ">="
                else ((need + 1e-9).floor() + 1 if op == ">" else (need + 1e-9).floor())
            )
            nf = "int"
        else:
            nf = fmt_of(FieldRef("", num, c.c.fields[num].kind))
        num_name = c.c.fields[num].label(lang)
        den_name = c.c.fields[den].label(lang)
        if whole:
            detail = pl.concat_str(
                pl.lit(f"{num_name} "),
                fmt_expr(n, "int", lang),
                pl.lit(" → "),
                fmt_expr(need, "int", lang),
                pl.lit(f" (of {den_name} " if en else f"（{den_name} "),
                fmt_expr(d, "int", lang),
                pl.lit(")" if en else "）"),
            )
        else:
            delta = need - n
            sign = pl.when(delta >= 0).then(pl.lit("+")).otherwise(pl.lit(""))
            detail = pl.concat_str(
                pl.lit(f"{num_name} "),
                sign,
                fmt_expr(delta, nf, lang),
                pl.lit(f" ({den_name} " if en else f"（{den_name} "),
                fmt_expr(d, fmt_of(FieldRef("", den, c.c.fields[den].kind)), lang),
                pl.lit(")" if en else "）"),
            )
        return pl.concat_str(head, pl.lit(": " if en else "："), detail)
    delta = pl.lit(t) - current
    sign = pl.when(delta >= 0).then(pl.lit("+")).otherwise(pl.lit(""))
    if sym:
        return head
    return pl.concat_str(
        head,
        pl.lit(" ("),
        sign,
        fmt_expr(delta, fmt if fmt != "ratio" else "ratio", lang),
        pl.lit(")"),
    )


def near_miss_exprs(c: Compiler, lang: str = "zh") -> tuple[list[list[pl.Expr]], pl.Expr, pl.Expr]:
    """For ineligible rows: the smallest single threshold change that passes, and blockers.

    Every threshold leaf that currently fails is tried (its status forced to pass, the
    tree re-evaluated from the leaf columns); the one with the smallest relative gap among
    those that make the rule pass wins. Returns the `with_columns` stages of intermediate
    columns, then the text and `near_miss_blocked` (true when no single change passes,
    null when the row is not ineligible).
    """
    en = is_en(lang)
    p = f"{c.p}nm_"
    root = pl.col(c.root_col)
    stage1: list[pl.Expr] = []
    candidates: list[tuple[Leaf, pl.Expr]] = []
    for leaf in c.leaves:
        th = _threshold(leaf)
        if th is None:
            continue
        op, t = th
        status = pl.col(leaf.column)
        failing = (status if leaf.polarity else ~status).fill_null(False)
        v = leaf.vals[0]
        current = v.lo if op in (">=", ">") else v.hi
        gap = (pl.lit(t) - current).abs() / max(abs(t), 1e-9)
        forced = c.forced_root(leaf.column, not leaf.polarity)
        k = leaf.index
        stage1 += [
            pl.when(failing & forced.fill_null(False)).then(gap).alias(f"{p}pg{k}"),
            pl.when(failing).then(gap).alias(f"{p}ag{k}"),
        ]
        candidates.append((leaf, _change_text(c, leaf, op, t, lang)))
    failing_leaves = []
    for leaf in c.leaves:
        s = pl.col(leaf.column)
        bad = (s if leaf.polarity else ~s).fill_null(False) & c.decisive(leaf)
        failing_leaves.append((leaf, bad, sentence(leaf.node, lang, c.c.fields)))
    ineligible = (~root).fill_null(False)
    null_text = pl.lit(None, dtype=pl.String)
    sep = "; " if en else "；"
    if not candidates:
        blockers = pl.concat_str(
            [pl.when(b).then(pl.lit(t)) for _, b, t in failing_leaves],
            separator=sep,
            ignore_nulls=True,
        )
        head = (
            "no single threshold change; blocked by: " if en else "无单项指标调整可通过；未满足："
        )
        return (
            [],
            pl.when(ineligible).then(pl.concat_str(pl.lit(head), blockers)).otherwise(null_text),
            pl.when(ineligible).then(pl.lit(True)).otherwise(pl.lit(None, dtype=pl.Boolean)),
        )
    pg = [pl.col(f"{p}pg{leaf.index}") for leaf, _ in candidates]
    ag = [pl.col(f"{p}ag{leaf.index}") for leaf, _ in candidates]
    stage2 = [pl.min_horizontal(pg).is_not_null().alias(f"{p}passes")]
    passes = pl.col(f"{p}passes")
    stage3 = [
        pl.when(passes)
        .then(pl.min_horizontal(pg))
        .otherwise(pl.min_horizontal(ag))
        .alias(f"{p}best")
    ]
    best = pl.col(f"{p}best")
    gaps = [pl.when(passes).then(a).otherwise(b) for a, b in zip(pg, ag, strict=True)]
    stage4 = [
        pl.coalesce(
            [
                pl.when(g == best).then(pl.lit(leaf.index))
                for (leaf, _), g in zip(candidates, gaps, strict=True)
            ]
        ).alias(f"{p}chosen")
    ]
    chosen = pl.col(f"{p}chosen")
    stage5 = [
        pl.coalesce([pl.when(chosen == leaf.index).then(text) for leaf, text in candidates]).alias(
            f"{p}change"
        )
    ]
    change = pl.col(f"{p}change")

    def any_groups(leaf: Leaf) -> set[str]:
        return {col for col, op in leaf.ancestors if op == "any"}

    def relieved_by(leaf: Leaf) -> list[int]:
        """Candidate leaves whose fix also satisfies `leaf` (itself, or an `any` it shares)."""
        mine = any_groups(leaf)
        return [
            other.index
            for other, _ in candidates
            if other.index == leaf.index or mine & any_groups(other)
        ]

    blockers = pl.concat_str(
        [
            pl.when(b & ~chosen.is_in(relieved_by(leaf)).fill_null(False)).then(pl.lit(t))
            for leaf, b, t in failing_leaves
        ],
        separator=sep,
        ignore_nulls=True,
    )
    ok_text = "; nothing else blocks" if en else "；无其他阻碍"
    other = "; still blocked by: " if en else "；仍需满足："
    head_change = "smallest change: " if en else "最小改变："
    head_none = "no single change passes; " if en else "无单项改变可通过；"
    text = (
        pl.when(~ineligible)
        .then(null_text)
        .when(passes)
        .then(pl.concat_str(pl.lit(head_change), change, pl.lit(ok_text)))
        .when(change.is_not_null())
        .then(pl.concat_str(pl.lit(head_none + head_change), change, pl.lit(other), blockers))
        .otherwise(
            pl.concat_str(pl.lit(head_none + ("blocked by: " if en else "未满足：")), blockers)
        )
    )
    blocked = pl.when(ineligible).then(~passes).otherwise(pl.lit(None, dtype=pl.Boolean))
    return [stage1, stage2, stage3, stage4, stage5], text, blocked
