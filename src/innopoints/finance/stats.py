"""Zone finance statistics in Polars: firms financed and amounts by bank, product and band;
default rate by band and year (the evidence that points predict risk); pledges by year,
bank and IP type; a product's calibration (default rate by grade)."""

from __future__ import annotations

import polars as pl
from django.db.models import QuerySet

from innopoints.finance.models import Loan, Pledge, PledgedItem

FINANCED = (Loan.Status.DISBURSED, Loan.Status.OVERDUE, Loan.Status.REPAID, Loan.Status.DEFAULTED)
LOAN_SCHEMA = {
    "enterprise_id": pl.Int64,
    "bank": pl.String,
    "product": pl.String,
    "band": pl.String,
    "year": pl.Int32,
    "amount": pl.Float64,
    "defaulted": pl.Boolean,
}


def loan_frame(loans: QuerySet[Loan]) -> pl.DataFrame:
    """Financed loans: one row each (amount disbursed, disbursement year, defaulted)."""
    rows = loans.filter(status__in=FINANCED).values_list(
        "enterprise_id",
        "bank__name",
        "product__name",
        "band",
        "disbursed_on",
        "amount_disbursed",
        "status",
    )
    data = [
        (e, b, p, band or "—", d.year if d else None, float(a or 0), s == Loan.Status.DEFAULTED)
        for e, b, p, band, d, a, s in rows
    ]
    return pl.DataFrame(data, schema=LOAN_SCHEMA, orient="row")


def financed_by(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Firms financed, loans and amount (万元) by `key` (bank, product or band)."""
    return (
        frame.group_by(key)
        .agg(
            pl.col("enterprise_id").n_unique().alias("firms"),
            pl.len().alias("loans"),
            pl.col("amount").sum().round(2).alias("amount"),
        )
        .sort("amount", descending=True)
    )


def totals(frame: pl.DataFrame) -> dict[str, float]:
    """Firms financed, loans and amount over all."""
    return {
        "firms": frame.get_column("enterprise_id").n_unique(),
        "loans": frame.height,
        "amount": round(float(frame.get_column("amount").sum()), 2),
    }


def default_rates(frame: pl.DataFrame) -> pl.DataFrame:
    """Default rate by band and disbursement year (loans, defaults, rate)."""
    return (
        frame.group_by("band", "year")
        .agg(pl.len().alias("loans"), pl.col("defaulted").sum().alias("defaults"))
        .with_columns((pl.col("defaults") / pl.col("loans")).round(4).alias("rate"))
        .sort("band", "year")
    )


def pledge_stats(pledges: QuerySet[Pledge]) -> pl.DataFrame:
    """Pledges, loan amounts and pledged values by registration year, bank and IP type."""
    rows = PledgedItem.objects.filter(pledge__in=pledges).values_list(
        "pledge_id",
        "pledge__registered_on",
        "pledge__bank__name",
        "item__kind",
        "pledge__loan_amount",
        "value",
    )
    frame = pl.DataFrame(
        [(p, d.year, b, k, float(a), float(v)) for p, d, b, k, a, v in rows],
        schema={
            "pledge": pl.Int64,
            "year": pl.Int32,
            "bank": pl.String,
            "ip_type": pl.String,
            "loan_amount": pl.Float64,
            "value": pl.Float64,
        },
        orient="row",
    )
    return (
        frame.group_by("year", "bank", "ip_type")
        .agg(
            pl.col("pledge").n_unique().alias("pledges"),
            pl.col("value").sum().round(2).alias("pledged_value"),
        )
        .join(
            frame.unique("pledge")
            .group_by("year", "bank")
            .agg(pl.col("loan_amount").sum().round(2).alias("bank_year_amount")),
            on=["year", "bank"],
            how="left",
        )
        .sort("year", "bank", "ip_type")
    )


def psi(expected: pl.Series, actual: pl.Series, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected` over expected's deciles."""
    import numpy as np

    e = expected.drop_nulls().to_numpy()
    a = actual.drop_nulls().to_numpy()
    if e.size == 0 or a.size == 0:
        return float("nan")
    cuts = np.unique(np.quantile(e, [i / bins for i in range(1, bins)]))
    pe = np.bincount(np.searchsorted(cuts, e, side="right"), minlength=cuts.size + 1) / e.size
    pa = np.bincount(np.searchsorted(cuts, a, side="right"), minlength=cuts.size + 1) / a.size
    pe, pa = np.clip(pe, 1e-4, None), np.clip(pa, 1e-4, None)
    return float(np.sum((pa - pe) * np.log(pa / pe)))
