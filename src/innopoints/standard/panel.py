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


def _year_spans(
    table: pl.DataFrame, start: str, end: str, end_exclusive: bool, year_lo: int, year_hi: int
) -> pl.DataFrame:
    """Per record, the span of years whose 31 December it covers, as one row per year.

    A qualification counts on 31 Dec of year y when valid_from ≤ 31 Dec y ≤ valid_until;
    a negative record when occurred_on ≤ 31 Dec y < cleared_on. Open ends run to `year_hi`.
    """
    last = pl.col(end).dt.year().cast(pl.Int64)
    if end_exclusive:  # cleared during year y (incl. 31 Dec) → not active at the end of y
        last_covered = last - 1
    else:  # valid until 31 Dec y → covers y; valid until any earlier day of y → covers y − 1
        on_year_end = (pl.col(end).dt.month() == 12) & (pl.col(end).dt.day() == 31)
        last_covered = pl.when(on_year_end).then(last).otherwise(last - 1)
    spans = table.select(
        "uscc",
        "type",
        pl.max_horizontal(pl.col(start).dt.year().cast(pl.Int64), pl.lit(year_lo)).alias("y0"),
        pl.min_horizontal(
            pl.when(pl.col(end).is_null()).then(pl.lit(year_hi)).otherwise(last_covered),
            pl.lit(year_hi),
        ).alias("y1"),
    ).filter(pl.col("y1") >= pl.col("y0"))
    return (
        spans.select("uscc", "type", pl.int_ranges("y0", pl.col("y1") + 1).alias("year"))
        .explode("year")
        .unique(["uscc", "type", "year"])
    )


def _empty(columns: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=columns)


def wide_panel(
    enterprises: pl.DataFrame,
    yearly: pl.DataFrame,
    qualifications: pl.DataFrame | None = None,
    negatives: pl.DataFrame | None = None,
    qualification_types: list[str] | None = None,
) -> pl.DataFrame:
    """Join the four registry tables into the wide panel (see module docstring).

    Rows keep the order of `yearly`. Every standard qualification and negative type gets a
    column; a zone's own types found in the tables (or listed in `qualification_types`) too.
    """
    q = (
        qualifications
        if qualifications is not None
        else _empty(
            {"uscc": pl.String, "type": pl.String, "valid_from": pl.Date, "valid_until": pl.Date}
        )
    )
    n = (
        negatives
        if negatives is not None
        else _empty(
            {"uscc": pl.String, "type": pl.String, "occurred_on": pl.Date, "cleared_on": pl.Date}
        )
    )
    enterprise_columns = [c for c in enterprises.columns if c not in yearly.columns]
    panel = yearly.join(
        enterprises.select("uscc", *enterprise_columns),
        on="uscc",
        how="left",
        maintain_order="left",
    ).select(
        "uscc",
        "year",
        *enterprise_columns,
        *[c for c in yearly.columns if c not in ("uscc", "year")],
    )
    keys = panel.select("uscc", "year")
    year_lo = int(keys["year"].min()) if keys.height else 0
    year_hi = int(keys["year"].max()) if keys.height else 0
    q_types = list(
        dict.fromkeys(
            [
                *QUALIFICATION_TYPES,
                *(qualification_types or []),
                *sorted(set(q["type"]) - set(QUALIFICATION_TYPES)),
            ]
        )
    )
    n_types = [*NEGATIVE_TYPES, *sorted(set(n["type"]) - set(NEGATIVE_TYPES))]
    covered = {
        "has_": _year_spans(q, "valid_from", "valid_until", False, year_lo, year_hi),
        "neg_": _year_spans(n, "occurred_on", "cleared_on", True, year_lo, year_hi),
    }
    for prefix, types in (("has_", q_types), ("neg_", n_types)):
        for kind in types:
            hit = (
                covered[prefix]
                .filter(pl.col("type") == kind)
                .select("uscc", "year", pl.lit(True).alias(f"{prefix}{kind}"))
            )
            keys = keys.join(hit, on=["uscc", "year"], how="left", maintain_order="left")
    flags = [f"has_{k}" for k in q_types] + [f"neg_{k}" for k in n_types]
    keys = keys.with_columns(pl.col(c).fill_null(False) for c in flags)
    return pl.concat([panel, keys.select(flags)], how="horizontal")


def year_end(year: int) -> dt.date:
    """31 December of `year`, the date a year's evaluation is made as of."""
    return dt.date(year, 12, 31)


UsccIndex = dict[str, "tuple[int, int] | list[int]"]


def uscc_index(frame: pl.DataFrame) -> UsccIndex:
    """Where each firm's rows lie in `frame` (for `rows_of`): (offset, length) when they
    are contiguous, as in a panel sorted by uscc, else their positions. A plain dict: one
    lookup and a zero-copy slice find a firm's rows in microseconds, where a binary search
    in a Polars column and a gather cost ≈ 0.2 ms each per call."""
    spans = (
        frame.select(pl.col("uscc"), pl.int_range(pl.len(), dtype=pl.Int64).alias("row"))
        .group_by("uscc", maintain_order=True)
        .agg(first=pl.col("row").first(), n=pl.len(), rows=pl.col("row"))
        .with_columns(contiguous=pl.col("rows").list.last() - pl.col("first") + 1 == pl.col("n"))
    )
    together = spans.filter(pl.col("contiguous"))
    index: UsccIndex = dict(
        zip(
            together["uscc"].to_list(),
            zip(together["first"].to_list(), together["n"].to_list(), strict=True),
            strict=True,
        )
    )
    scattered = spans.filter(~pl.col("contiguous"))
    index.update(zip(scattered["uscc"].to_list(), scattered["rows"].to_list(), strict=True))
    return index


def rows_of(frame: pl.DataFrame, index: UsccIndex, uscc: str) -> pl.DataFrame:
    """The rows of `frame` with this uscc (in frame order), found in its `uscc_index`."""
    where = index.get(uscc)
    if where is None:
        return frame.clear()
    if where.__class__ is tuple:
        return frame.slice(*where)
    return frame[where]
