"""The wide panel: one row per `uscc` + `year`, what the scoring and rules engines read.

Enterprise fields are repeated on each of the firm's years; each qualification type
becomes a `has_<type>` boolean (held on 31 December of the year) and each negative
record type a `neg_<type>` boolean (occurred on or before 31 December and not cleared
by then). Zone custom fields are ordinary columns.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from innopoints.standard.catalogue import NEGATIVE_TYPES, QUALIFICATION_TYPES


def _year_end(year: pl.Expr) -> pl.Expr:
    return pl.date(year, 12, 31)


def _flags(
    keys: pl.DataFrame,
    records: pl.DataFrame,
    types: list[str],
    prefix: str,
    active: pl.Expr,
) -> pl.DataFrame:
    """Per uscc+year, one boolean column per record type: is any record of that type active."""
    columns = [f"{prefix}{t}" for t in types]
    if records.is_empty():
        return keys.with_columns([pl.lit(False).alias(c) for c in columns])
    hits = (
        keys.join(records, on="uscc", how="inner")
        .filter(active)
        .select("uscc", "year", pl.col("type"))
        .unique()
        .with_columns(pl.lit(True).alias("_hit"))
    )
    wide = hits.pivot(on="type", index=["uscc", "year"], values="_hit", aggregate_function="first")
    wide = wide.rename({t: f"{prefix}{t}" for t in wide.columns if t in types})
    out = keys.join(wide, on=["uscc", "year"], how="left", maintain_order="left")
    for c in columns:
        if c not in out.columns:
            out = out.with_columns(pl.lit(None, dtype=pl.Boolean).alias(c))
    return out.select("uscc", "year", *[pl.col(c).fill_null(False) for c in columns])


def wide_panel(
    enterprises: pl.DataFrame,
    yearly: pl.DataFrame,
    qualifications: pl.DataFrame | None = None,
    negatives: pl.DataFrame | None = None,
    qualification_types: list[str] | None = None,
) -> pl.DataFrame:
    """Join the four registry tables into the wide panel (see module docstring)."""
    q_types = list(qualification_types or QUALIFICATION_TYPES)
    keys = yearly.select("uscc", "year")
    q = (
        qualifications
        if qualifications is not None
        else pl.DataFrame(
            schema={
                "uscc": pl.String,
                "type": pl.String,
                "valid_from": pl.Date,
                "valid_until": pl.Date,
            }
        )
    )
    n = (
        negatives
        if negatives is not None
        else pl.DataFrame(
            schema={
                "uscc": pl.String,
                "type": pl.String,
                "occurred_on": pl.Date,
                "cleared_on": pl.Date,
            }
        )
    )
    year_end = _year_end(pl.col("year"))
    has = _flags(
        keys,
        q.select("uscc", "type", "valid_from", "valid_until"),
        q_types,
        "has_",
        (pl.col("valid_from") <= year_end)
        & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= year_end)),
    )
    neg = _flags(
        keys,
        n.select("uscc", "type", "occurred_on", "cleared_on"),
        list(NEGATIVE_TYPES),
        "neg_",
        (pl.col("occurred_on") <= year_end)
        & (pl.col("cleared_on").is_null() | (pl.col("cleared_on") > year_end)),
    )
    enterprise_columns = [c for c in enterprises.columns if c not in yearly.columns or c == "uscc"]
    return (
        yearly.join(
            enterprises.select(enterprise_columns), on="uscc", how="left", maintain_order="left"
        )
        .join(has, on=["uscc", "year"], how="left", maintain_order="left")
        .join(neg, on=["uscc", "year"], how="left", maintain_order="left")
        .select(
            "uscc",
            "year",
            *[c for c in enterprise_columns if c != "uscc"],
            *[c for c in yearly.columns if c not in ("uscc", "year")],
            pl.col("^has_.*$"),
            pl.col("^neg_.*$"),
        )
        .sort("uscc", "year")
    )


def year_end(year: int) -> dt.date:
    """31 December of `year`, the date a year's evaluation is made as of."""
    return dt.date(year, 12, 31)
