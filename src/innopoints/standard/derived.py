"""Derived indicators (data standard §3), computed in exactly one place.

`derive(panel)` takes a panel (one row per `uscc` + `year`, enterprise fields repeated)
and returns it with every derived column added. Earlier years are found by joining on
`year − k`, never by row position, so a year with no record stays missing (null) rather
than becoming zero or borrowing another year. Everything is Polars expressions over all
firms at once; one firm is the same code on its few rows.
"""

from __future__ import annotations

import polars as pl

from innopoints.standard.stages import DEFAULT_STAGE_SCHEME, StageScheme

LAGGED = ("revenue", "rd_expense", "net_assets", "staff_total", "main_revenue")


def _safe_div(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator ÷ denominator, null when the denominator is 0 or missing."""
    return pl.when(denominator != 0).then(numerator / denominator).otherwise(None)


def _growth(current: pl.Expr, previous: pl.Expr) -> pl.Expr:
    """Year-on-year growth; null when the previous value is missing or not positive."""
    return pl.when(previous > 0).then(current / previous - 1).otherwise(None)


def _ensure_columns(frame: pl.LazyFrame, columns: dict[str, pl.DataType]) -> pl.LazyFrame:
    names = frame.collect_schema().names()
    missing = [pl.lit(None, dtype=dtype).alias(c) for c, dtype in columns.items() if c not in names]
    return frame.with_columns(missing) if missing else frame


def fill_derivable(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Fill the imported fields that the standard derives when absent (net assets, IP classes)."""
    frame = _ensure_columns(
        frame,
        {
            c: pl.Float64()
            for c in ("net_assets", "total_assets", "total_liabilities", "revenue", "rd_expense")
        }
        | {
            c: pl.Int64()
            for c in (
                "class1_ip",
                "class2_ip",
                "invention_patents",
                "ic_layouts",
                "plant_varieties",
                "utility_patents",
                "design_patents",
                "software_copyrights",
            )
        },
    )
    return frame.with_columns(
        pl.coalesce("net_assets", pl.col("total_assets") - pl.col("total_liabilities")).alias(
            "net_assets"
        ),
        pl.coalesce(
            "class1_ip",
            pl.col("invention_patents") + pl.col("ic_layouts") + pl.col("plant_varieties"),
        ).alias("class1_ip"),
        pl.coalesce(
            "class2_ip",
            pl.col("utility_patents") + pl.col("design_patents") + pl.col("software_copyrights"),
        ).alias("class2_ip"),
    )


def _with_lags(frame: pl.LazyFrame, lags: tuple[int, ...]) -> pl.LazyFrame:
    """Add `<field>_lag<k>` columns: the same firm's value in year − k (null when no record)."""
    base = frame.select("uscc", "year", *[pl.col(c) for c in LAGGED])
    for k in lags:
        shifted = base.select(
            "uscc",
            (pl.col("year") + k).alias("year"),
            *[pl.col(c).alias(f"{c}_lag{k}") for c in LAGGED],
            pl.lit(True).alias(f"_has_lag{k}"),
        )
        frame = frame.join(shifted, on=["uscc", "year"], how="left", maintain_order="left")
    return frame


def derive(
    panel: pl.DataFrame | pl.LazyFrame,
    stage_scheme: StageScheme | None = None,
    keep_lags: bool = False,
) -> pl.LazyFrame:
    """The panel with every derived indicator of data standard §3 added (lazy)."""
    frame = panel.lazy() if isinstance(panel, pl.DataFrame) else panel
    frame = _ensure_columns(
        frame,
        {
            "registered_on": pl.Date(),
            "main_revenue": pl.Float64(),
            "high_tech_revenue": pl.Float64(),
            "total_cost": pl.Float64(),
            "staff_total": pl.Int64(),
            "tech_staff": pl.Int64(),
            "rd_staff": pl.Int64(),
        },
    )
    frame = fill_derivable(frame)
    frame = _with_lags(frame, (1, 2, 3))
    col = pl.col
    reg_year = col("registered_on").dt.year()

    # 3-year R&D intensity: years before registration do not count; a year after
    # registration with no record makes the value missing (data standard §3).
    window_parts = []
    for k, rd, rev, has in (
        (0, col("rd_expense"), col("revenue"), pl.lit(True)),
        (1, col("rd_expense_lag1"), col("revenue_lag1"), col("_has_lag1")),
        (2, col("rd_expense_lag2"), col("revenue_lag2"), col("_has_lag2")),
    ):
        applies = (col("year") - k >= reg_year) | (k == 0) | reg_year.is_null()
        window_parts.append((applies, rd, rev, has))
    rd_sum = pl.sum_horizontal(
        [pl.when(a).then(rd).otherwise(pl.lit(0.0)) for a, rd, _, _ in window_parts]
    )
    rev_sum = pl.sum_horizontal(
        [pl.when(a).then(rev).otherwise(pl.lit(0.0)) for a, _, rev, _ in window_parts]
    )
    window_complete = pl.all_horizontal(
        [
            (~a) | (h.fill_null(False) & rd.is_not_null() & rev.is_not_null())
            for a, rd, rev, h in window_parts
        ]
    )

    frame = frame.with_columns(
        (col("year") - reg_year).cast(pl.Int64).alias("age_years"),
        _safe_div(col("rd_expense"), col("revenue")).alias("rd_intensity"),
        pl.when(window_complete).then(_safe_div(rd_sum, rev_sum)).alias("rd_intensity_3y"),
        _safe_div(col("rd_expense"), col("total_cost")).alias("rd_cost_ratio"),
        _safe_div(col("tech_staff"), col("staff_total")).alias("tech_staff_ratio"),
        _safe_div(col("rd_staff"), col("staff_total")).alias("rd_staff_ratio"),
        _safe_div(col("high_tech_revenue"), col("revenue")).alias("high_tech_revenue_ratio"),
        _safe_div(col("main_revenue"), col("revenue")).alias("main_revenue_ratio"),
        _safe_div(col("total_liabilities"), col("total_assets")).alias("debt_ratio"),
        _growth(col("revenue"), col("revenue_lag1")).alias("revenue_growth"),
        pl.when((col("revenue_lag3") > 0) & (col("revenue") >= 0))
        .then((col("revenue") / col("revenue_lag3")).pow(1.0 / 3.0) - 1)
        .alias("revenue_cagr_3y"),
        _growth(col("net_assets"), col("net_assets_lag1")).alias("net_asset_growth"),
        _growth(col("staff_total"), col("staff_total_lag1")).alias("staff_growth"),
    )
    frame = frame.with_columns((stage_scheme or DEFAULT_STAGE_SCHEME).expr().alias("stage"))
    if not keep_lags:
        lag_columns = [f"{c}_lag{k}" for c in LAGGED for k in (1, 2, 3)]
        frame = frame.drop(lag_columns + ["_has_lag1", "_has_lag2", "_has_lag3"])
    return frame
