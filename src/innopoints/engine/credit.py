"""Credit-line suggestion (积分贷授信额度): a product's grade table over every firm in one pass.

Pure Polars, no Django. A table is data (a bank configures it per product):

```python
{
  "grade_by": "band",                       # or "percentile" (pct 0–100, higher is better)
  "grades": [                               # first match wins
    {"band": "lead", "base": "revenue", "multiple": 0.3, "uplift": 0.15},
    {"band": "chase", "base": "revenue", "multiple": 0.25},
    {"band": "rise", "base": "tax", "multiple": 8},
    {"band": "*", "base": "fixed", "amount": 100},   # any other firm
  ],                                        # percentile grades use "min_pct": 80
  "caps": {"revenue_share": 0.5, "minus_debt": true},
  "blocks": {"negative_records": true, "stages": ["startup"]},
}
```

Steps for each firm (`credit_lines`), all in 万元:
1. grade: the first grade the firm's band matches (or whose `min_pct` its percentile
   reaches); none → status `no_grade`;
2. base line: `multiple` × revenue, `multiple` × last-year tax, or the fixed `amount`
   (missing revenue or tax → status `missing_data`);
3. uplift: base × (1 + uplift) (top bands);
4. caps: the product maximum, `revenue_share` × revenue; the smallest applies;
5. existing bank debt subtracted (`minus_debt`), never below 0;
6. blocks: not eligible for the product, negative records, a blocked stage → `blocked`
   (the line is 0); eligibility unknown keeps the line with status `unknown`.

`credit_line_row` is the same arithmetic per row in plain Python (the reference for
tests and the benchmark); `explain` turns one firm's computed row into numbered steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

BASES = ("revenue", "tax", "fixed")
GRADE_BY = ("band", "percentile")
STATUSES = ("ok", "unknown", "blocked", "no_grade", "missing_data")
INPUT_SCHEMA: dict[str, pl.DataType] = {
    "uscc": pl.String,
    "band": pl.String,
    "pct": pl.Float64,
    "revenue": pl.Float64,
    "tax_paid": pl.Float64,
    "debt": pl.Float64,
    "negative": pl.Boolean,
    "stage": pl.String,
    "eligibility": pl.String,
}


class CreditTableError(ValueError):
    """A grade table that cannot be used; `problems` are bilingual (zh / en) lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Grade:
    """One row of the grade table."""

    key: str  # band code ('*' = any) or a percentile label ('≥80')
    min_pct: float | None
    base: str
    multiple: float
    amount: float
    uplift: float


@dataclass(frozen=True)
class CreditTable:
    """A validated grade table."""

    grade_by: str
    grades: tuple[Grade, ...]
    revenue_share: float | None = None
    minus_debt: bool = True
    block_negative: bool = True
    block_stages: tuple[str, ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict, compare=False)


DEFAULT_TABLE: dict[str, Any] = {
    "grade_by": "band",
    "grades": [
        {"band": "lead", "base": "revenue", "multiple": 0.3, "uplift": 0.15},
        {"band": "chase", "base": "revenue", "multiple": 0.25, "uplift": 0.05},
        {"band": "rise", "base": "revenue", "multiple": 0.2},
        {"band": "*", "base": "tax", "multiple": 5},
    ],
    "caps": {"revenue_share": 0.5, "minus_debt": True},
    "blocks": {"negative_records": True, "stages": []},
}


def _number(value: Any, where: str, problems: list[str], *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{where}：须为数字 / must be a number (got {value!r})")
        return 0.0
    if value < minimum:
        problems.append(f"{where}：不得小于 {minimum} / must be at least {minimum} (got {value})")
    return float(value)


def parse_table(doc: Any) -> CreditTable:
    """Validate a grade-table document; raises `CreditTableError` naming every problem."""
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        raise CreditTableError(["额度表须为对象 / the table must be an object"])
    grade_by = doc.get("grade_by", "band")
    if grade_by not in GRADE_BY:
        problems.append(
            f"grade_by：须为 band 或 percentile / must be band or percentile ({grade_by!r})"
        )
    raw = doc.get("grades")
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        problems.append("grades：至少一档 / at least one grade is needed")
        raw = []
    grades = []
    for i, g in enumerate(raw, start=1):
        where = f"grades[{i}]"
        if not isinstance(g, Mapping):
            problems.append(f"{where}：须为对象 / must be an object")
            continue
        base = g.get("base")
        if base not in BASES:
            problems.append(
                f"{where}.base：须为 revenue、tax 或 fixed / must be revenue, tax or fixed ({base!r})"
            )
        multiple = amount = 0.0
        if base == "fixed":
            amount = _number(g.get("amount"), f"{where}.amount", problems)
        elif base in ("revenue", "tax"):
            multiple = _number(g.get("multiple"), f"{where}.multiple", problems)
        uplift = _number(g.get("uplift", 0), f"{where}.uplift", problems)
        if uplift > 1:
            problems.append(f"{where}.uplift：不得超过 1 / at most 1 (100%) (got {uplift})")
        if grade_by == "percentile":
            min_pct = _number(g.get("min_pct"), f"{where}.min_pct", problems)
            if min_pct > 100:
                problems.append(f"{where}.min_pct：不得超过 100 / at most 100 (got {min_pct})")
            key = f"≥{min_pct:g}"
        else:
            min_pct = None
            key = g.get("band")
            if not isinstance(key, str) or not key:
                problems.append(f"{where}.band：须为档次代码或 * / a band code or * is needed")
                key = "?"
        grades.append(Grade(key, min_pct, str(base), multiple, amount, uplift))
    caps = doc.get("caps") or {}
    blocks = doc.get("blocks") or {}
    if not isinstance(caps, Mapping) or not isinstance(blocks, Mapping):
        problems.append("caps/blocks：须为对象 / must be objects")
        caps, blocks = {}, {}
    share = caps.get("revenue_share")
    if share is not None:
        share = _number(share, "caps.revenue_share", problems)
    stages = blocks.get("stages") or []
    if not isinstance(stages, Sequence) or isinstance(stages, str):
        problems.append("blocks.stages：须为列表 / must be a list")
        stages = []
    if problems:
        raise CreditTableError(problems)
    if grade_by == "percentile":
        grades.sort(key=lambda g: -(g.min_pct or 0.0))
    return CreditTable(
        grade_by=grade_by,
        grades=tuple(grades),
        revenue_share=share,
        minus_debt=bool(caps.get("minus_debt", True)),
        block_negative=bool(blocks.get("negative_records", True)),
        block_stages=tuple(str(s) for s in stages),
        document=dict(doc),
    )


def _grade_index(table: CreditTable) -> pl.Expr:
    """The index of the first matching grade (null when none)."""
    chain = None
    for i, g in enumerate(table.grades):
        if table.grade_by == "percentile":
            cond = pl.col("pct") >= g.min_pct
        elif g.key == "*":
            cond = pl.lit(True)
        else:
            cond = pl.col("band") == g.key
        cond = cond.fill_null(False)
        chain = pl.when(cond).then(pl.lit(i)) if chain is None else chain.when(cond).then(pl.lit(i))
    return chain.otherwise(None).cast(pl.Int32)  # type: ignore[union-attr]


def _pick(table: CreditTable, attr: str, dtype: pl.DataType) -> pl.Expr:
    values = [getattr(g, attr) for g in table.grades]
    return (
        pl.col("grade_i").replace_strict(list(range(len(values))), values, default=None).cast(dtype)
    )


def credit_lines(
    frame: pl.DataFrame | pl.LazyFrame, table: CreditTable, product_max: float
) -> pl.DataFrame:
    """Every firm's suggested line under `table` (one row per input row, same order).

    Input columns: `INPUT_SCHEMA` (missing ones are taken as null / 0 debt / no negative
    record / eligible). Output adds grade, base_kind, base_value, base_line, uplift,
    uplifted, cap_product, cap_revenue, capped, debt, line, status, block."""
    lf = frame.lazy()
    names = lf.collect_schema().names()
    defaults = {
        "band": pl.lit(None, pl.String),
        "pct": pl.lit(None, pl.Float64),
        "revenue": pl.lit(None, pl.Float64),
        "tax_paid": pl.lit(None, pl.Float64),
        "debt": pl.lit(0.0),
        "negative": pl.lit(False),
        "stage": pl.lit(None, pl.String),
        "eligibility": pl.lit("eligible"),
    }
    lf = lf.with_columns(v.alias(k) for k, v in defaults.items() if k not in names)
    lf = lf.with_columns(
        pl.col("debt").cast(pl.Float64).fill_null(0.0),
        pl.col("negative").fill_null(False),
        pl.col("eligibility").fill_null("unknown"),
        _grade_index(table).alias("grade_i"),
    )
    keys = [g.key for g in table.grades]
    lf = lf.with_columns(
        _pick(table, "key", pl.String).alias("grade") if keys else pl.lit(None, pl.String),
        _pick(table, "base", pl.String).alias("base_kind"),
        _pick(table, "multiple", pl.Float64).alias("_multiple"),
        _pick(table, "amount", pl.Float64).alias("_amount"),
        _pick(table, "uplift", pl.Float64).alias("uplift"),
    )
    base_value = (
        pl.when(pl.col("base_kind") == "revenue")
        .then(pl.col("revenue"))
        .when(pl.col("base_kind") == "tax")
        .then(pl.col("tax_paid"))
        .otherwise(None)
    )
    base_line = (
        pl.when(pl.col("base_kind") == "fixed")
        .then(pl.col("_amount"))
        .otherwise(pl.col("_multiple") * pl.col("base_value"))
    )
    lf = lf.with_columns(base_value.alias("base_value")).with_columns(base_line.alias("base_line"))
    lf = lf.with_columns((pl.col("base_line") * (1.0 + pl.col("uplift"))).alias("uplifted"))
    cap_revenue = (
        (pl.lit(table.revenue_share) * pl.col("revenue")).clip(lower_bound=0.0)
        if table.revenue_share is not None
        else pl.lit(None, pl.Float64)
    )
    lf = lf.with_columns(
        pl.lit(float(product_max)).alias("cap_product"), cap_revenue.alias("cap_revenue")
    ).with_columns(
        pl.min_horizontal("uplifted", "cap_product", "cap_revenue").alias("capped"),
    )
    after_debt = (
        (pl.col("capped") - pl.col("debt")).clip(lower_bound=0.0)
        if table.minus_debt
        else pl.col("capped")
    )
    block = pl.when(pl.col("eligibility") == "ineligible").then(pl.lit("ineligible"))
    if table.block_negative:
        block = block.when(pl.col("negative")).then(pl.lit("negative_records"))
    if table.block_stages:
        block = block.when(pl.col("stage").is_in(list(table.block_stages))).then(pl.lit("stage"))
    lf = lf.with_columns(block.otherwise(None).alias("block"))
    status = (
        pl.when(pl.col("block").is_not_null())
        .then(pl.lit("blocked"))
        .when(pl.col("grade_i").is_null())
        .then(pl.lit("no_grade"))
        .when(pl.col("base_line").is_null())
        .then(pl.lit("missing_data"))
        .when(pl.col("eligibility") == "unknown")
        .then(pl.lit("unknown"))
        .otherwise(pl.lit("ok"))
    )
    lf = lf.with_columns(status.alias("status")).with_columns(
        pl.when(pl.col("status").is_in(["ok", "unknown"]))
        .then(after_debt.round(2))
        .when(pl.col("status") == "blocked")
        .then(pl.lit(0.0))
        .otherwise(None)
        .alias("line")
    )
    return lf.drop("grade_i", "_multiple", "_amount").collect()


def credit_line_row(row: Mapping[str, Any], table: CreditTable, product_max: float) -> dict:
    """The same computation for one row in plain Python (reference for tests and benchmarks)."""
    pct, band = row.get("pct"), row.get("band")
    grade = None
    for g in table.grades:
        if table.grade_by == "percentile":
            if pct is not None and pct >= g.min_pct:
                grade = g
                break
        elif g.key == "*" or (band is not None and band == g.key):
            grade = g
            break
    revenue, tax = row.get("revenue"), row.get("tax_paid")
    debt = row.get("debt") or 0.0
    eligibility = row.get("eligibility") or "unknown"
    block = None
    if eligibility == "ineligible":
        block = "ineligible"
    elif table.block_negative and row.get("negative"):
        block = "negative_records"
    elif table.block_stages and row.get("stage") in table.block_stages:
        block = "stage"
    base_line = None
    if grade is not None:
        if grade.base == "fixed":
            base_line = grade.amount
        else:
            value = revenue if grade.base == "revenue" else tax
            base_line = None if value is None else grade.multiple * value
    if block is not None:
        return {"status": "blocked", "line": 0.0, "block": block}
    if grade is None:
        return {"status": "no_grade", "line": None, "block": None}
    if base_line is None:
        return {"status": "missing_data", "line": None, "block": None}
    capped = min(base_line * (1.0 + grade.uplift), float(product_max))
    if table.revenue_share is not None and revenue is not None:
        capped = min(capped, max(table.revenue_share * revenue, 0.0))
    line = max(capped - debt, 0.0) if table.minus_debt else capped
    status = "unknown" if eligibility == "unknown" else "ok"
    return {"status": status, "line": round(line, 2), "block": None}


BLOCK_TEXT = {
    "ineligible": ("不符合该产品的准入条件", "not eligible for the product"),
    "negative_records": ("存在负面记录", "has negative records"),
    "stage": ("所处阶段不在该产品范围内", "its stage is excluded by the product"),
}
STATUS_TEXT = {
    "ok": ("建议额度", "suggested line"),
    "unknown": (
        "建议额度（准入条件因缺数据待定）",
        "suggested line (eligibility unknown: data missing)",
    ),
    "blocked": ("不予授信", "no line"),
    "no_grade": ("无对应积分档次", "no grade matches"),
    "missing_data": ("计算基数缺失", "the base value is missing"),
}


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def explain(row: Mapping[str, Any], lang: str = "zh") -> list[str]:
    """One firm's computed row (from `credit_lines`) as numbered steps in `lang`."""
    en = lang == "en"
    unit = " 10k CNY" if en else " 万元"
    steps = []
    band = row.get("band") or "—"
    pct = row.get("pct")
    pct_text = "—" if pct is None else f"{pct:.1f}"
    grade = row.get("grade")
    if en:
        steps.append(f"Points band {band}, percentile {pct_text} → grade {grade or '—'}")
    else:
        steps.append(f"积分档次 {band}，百分位 {pct_text} → 额度档 {grade or '—'}")
    kind = row.get("base_kind")
    if grade is not None:
        if kind == "fixed":
            steps.append(
                f"Base line: fixed {_money(row.get('base_line'))}{unit}"
                if en
                else f"基础额度：固定 {_money(row.get('base_line'))}{unit}"
            )
        else:
            what = ("revenue", "营业收入") if kind == "revenue" else ("last-year tax", "上年纳税")
            mult = (
                (row.get("base_line") or 0) / row["base_value"] if row.get("base_value") else None
            )
            mult_text = "—" if mult is None else f"{mult:g}"
            steps.append(
                f"Base line: {mult_text} × {what[0]} {_money(row.get('base_value'))} = "
                f"{_money(row.get('base_line'))}{unit}"
                if en
                else f"基础额度：{mult_text} × {what[1]} {_money(row.get('base_value'))} = "
                f"{_money(row.get('base_line'))}{unit}"
            )
        if row.get("uplift"):
            steps.append(
                f"Uplift +{row['uplift'] * 100:g}% → {_money(row.get('uplifted'))}{unit}"
                if en
                else f"上浮 {row['uplift'] * 100:g}% → {_money(row.get('uplifted'))}{unit}"
            )
        caps = [f"{_money(row.get('cap_product'))}" + (" (product max)" if en else "（产品上限）")]
        if row.get("cap_revenue") is not None:
            caps.append(
                _money(row.get("cap_revenue")) + (" (share of revenue)" if en else "（收入比例）")
            )
        steps.append(
            f"Caps: {', '.join(caps)} → {_money(row.get('capped'))}{unit}"
            if en
            else f"上限：{'，'.join(caps)} → {_money(row.get('capped'))}{unit}"
        )
        if row.get("debt"):
            steps.append(
                f"Minus existing bank debt {_money(row.get('debt'))}{unit}"
                if en
                else f"扣除现有银行贷款 {_money(row.get('debt'))}{unit}"
            )
    block = row.get("block")
    if block:
        zh, e = BLOCK_TEXT.get(block, (block, block))
        steps.append(f"Blocked: {e}" if en else f"拦截：{zh}")
    zh, e = STATUS_TEXT.get(row.get("status") or "", ("", ""))
    line = row.get("line")
    steps.append(
        f"Result: {e}" + (f" {_money(line)}{unit}" if line is not None else "")
        if en
        else f"结果：{zh}" + (f" {_money(line)}{unit}" if line is not None else "")
    )
    return steps
