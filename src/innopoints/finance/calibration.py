"""A bank's monitoring of one product: calibration of its grade table from its own loan
outcomes (default rate by grade) and score drift between years (population stability
index of the points of the firms the product would serve).

Calibration rule (transparent, for the bank to accept or not): a grade with at least
`min_loans` financed loans whose default rate exceeds the target has its multiple (or
fixed amount) scaled by target ÷ observed; other grades keep theirs.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import polars as pl

from innopoints.finance import credit
from innopoints.finance.models import Loan, LoanProduct
from innopoints.finance.stats import FINANCED, psi

MIN_LOANS = 3


def outcomes(product: LoanProduct) -> pl.DataFrame:
    """Default rate by the grade each financed loan of the product was applied under."""
    rows = Loan.objects.filter(product=product, status__in=FINANCED).values_list(
        "grade", "status", "amount_disbursed"
    )
    frame = pl.DataFrame(
        [(g or "—", s == Loan.Status.DEFAULTED, float(a or 0)) for g, s, a in rows],
        schema={"grade": pl.String, "defaulted": pl.Boolean, "amount": pl.Float64},
        orient="row",
    )
    return (
        frame.group_by("grade")
        .agg(
            pl.len().alias("loans"),
            pl.col("defaulted").sum().alias("defaults"),
            pl.col("amount").sum().round(2).alias("amount"),
        )
        .with_columns((pl.col("defaults") / pl.col("loans")).round(4).alias("rate"))
        .sort("grade")
    )


def calibrate(
    product: LoanProduct, target_rate: float, min_loans: int = MIN_LOANS
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The product's table with grades scaled by target ÷ observed default rate, and one
    row per grade saying what changed and why."""
    if not 0 < target_rate < 1:
        raise ValueError("target_rate：须在 0–1 之间 / must be within 0–1")
    table = credit.table_of(product)
    seen = {r["grade"]: r for r in outcomes(product).to_dicts()}
    doc = copy.deepcopy(dict(product.credit_table))
    rows = []
    for i, grade in enumerate(table.grades):
        got = seen.get(grade.key)
        factor = 1.0
        if got and got["loans"] >= min_loans and got["rate"] > target_rate:
            factor = round(target_rate / got["rate"], 4)
        key = "amount" if grade.base == "fixed" else "multiple"
        old = doc["grades"][i].get(key)
        new = round(old * factor, 4) if isinstance(old, int | float) else old
        doc["grades"][i][key] = new
        rows.append(
            {
                "grade": grade.key,
                "loans": got["loans"] if got else 0,
                "defaults": got["defaults"] if got else 0,
                "rate": got["rate"] if got else None,
                "field": key,
                "old": old,
                "new": new,
                "factor": factor,
            }
        )
    return doc, rows


def drift(product: LoanProduct, zones) -> dict[str, Any]:
    """PSI of the points (and suggested lines) of the firms the product serves, newest
    scored year against the year before (None when either year has no run)."""
    zones = list(zones)
    year = credit.score_year(zones)
    if year is None:
        return {"year": None, "base_year": None, "psi_points": None, "psi_lines": None}
    now = credit.product_lines(product, zones, year)
    before = credit.product_lines(product, zones, year - 1)
    if now.is_empty() or before.is_empty():
        return {"year": year, "base_year": None, "psi_points": None, "psi_lines": None}

    def index(column: str) -> float | None:
        value = psi(before.get_column(column), now.get_column(column))
        return None if math.isnan(value) else round(value, 4)

    return {
        "year": year,
        "base_year": year - 1,
        "n": now.height,
        "n_base": before.height,
        "psi_points": index("total"),
        "psi_lines": index("line"),
    }


def psi_label(value: float | None) -> str:
    """The usual reading of a PSI: stable < 0.1 ≤ moderate < 0.25 ≤ significant."""
    if value is None:
        return ""
    return "stable" if value < 0.1 else "moderate" if value < 0.25 else "significant"
