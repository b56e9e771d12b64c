"""Credit lines of a product for every firm of its zones, from the stored data: the newest
finished scoring run of the year (points, band, percentile, stage), the derived panel
(revenue, tax, negative records), the product's eligibility rule (engine.rules, three-valued)
and the firms' existing bank debt (running platform loans, or a zone custom field
`bank_debt` when larger). One Polars pass
(`innopoints.engine.credit.credit_lines`); one firm is the same code on one row.
"""

from __future__ import annotations

import polars as pl
from django.db.models import F, Sum

from innopoints.engine.credit import CreditTable, credit_lines, parse_table
from innopoints.engine.rules import evaluate, load_rule
from innopoints.enterprises.panel import zone_derived
from innopoints.finance.models import Loan, LoanProduct
from innopoints.pools.actions import latest_run, scores_frame
from innopoints.scoring.models import FirmScore, ScoringRun

FIRM_SCHEMA: dict[str, pl.DataType] = {
    "enterprise_id": pl.Int64,
    "uscc": pl.String,
    "name": pl.String,
    "zone_id": pl.Int64,
    "total": pl.Float64,
    "band": pl.String,
    "pct": pl.Float64,
    "stage": pl.String,
}
ACTIVE = (Loan.Status.DISBURSED, Loan.Status.OVERDUE)


def score_year(zones) -> int | None:
    """The newest year with a finished scoring run in any of `zones`."""
    run = (
        ScoringRun.objects.filter(zone__in=zones, status=ScoringRun.Status.DONE)
        .order_by("-year")
        .first()
    )
    return run.year if run else None


def table_of(product: LoanProduct) -> CreditTable:
    """The product's validated grade table."""
    return parse_table(product.credit_table)


def _scores(zone, year: int) -> pl.DataFrame:
    run = latest_run(zone, year)
    rows = (
        FirmScore.objects.filter(run=run).values_list(
            "enterprise_id",
            "enterprise__uscc",
            "enterprise__name",
            "enterprise__zone_id",
            "total",
            "band",
            "pct_zone",
            "stage",
        )
        if run is not None
        else []
    )
    return pl.DataFrame(list(rows), schema=FIRM_SCHEMA, orient="row")


def debts(enterprise_ids: list[int] | None = None) -> pl.DataFrame:
    """Outstanding principal of each firm's active platform loans (万元)."""
    qs = Loan.objects.filter(status__in=ACTIVE)
    if enterprise_ids is not None:
        qs = qs.filter(enterprise_id__in=enterprise_ids)
    rows = (
        qs.values("enterprise_id")
        .annotate(debt=Sum(F("amount_disbursed") - F("principal_repaid")))
        .values_list("enterprise_id", "debt")
    )
    return pl.DataFrame(
        [(e, float(d or 0)) for e, d in rows],
        schema={"enterprise_id": pl.Int64, "debt": pl.Float64},
        orient="row",
    )


def firm_frame(zone, year: int, usccs: list[str] | None = None) -> pl.DataFrame:
    """One row per scored firm of `zone` in `year` with the inputs of a credit line."""
    scores = _scores(zone, year)
    if usccs is not None:
        scores = scores.filter(pl.col("uscc").is_in(usccs))
    panel = zone_derived(zone).filter(pl.col("year") == year)
    neg = [c for c in panel.columns if c.startswith("neg_")]
    reported = (
        pl.col("bank_debt").cast(pl.Float64, strict=False)
        if "bank_debt" in panel.columns
        else pl.lit(None, pl.Float64)
    )
    data = panel.select(
        "uscc",
        *[pl.col(c).cast(pl.Float64) for c in ("revenue", "tax_paid") if c in panel.columns],
        (pl.any_horizontal(neg).fill_null(False) if neg else pl.lit(False)).alias("negative"),
        reported.alias("reported_debt"),
    )
    frame = scores.join(data, on="uscc", how="left")
    ids = frame.get_column("enterprise_id").to_list()
    frame = frame.join(debts(ids), on="enterprise_id", how="left")
    # the larger of the platform's running loans and the debt the firm reports (a zone
    # custom field `bank_debt`, which would include its platform loans)
    return frame.with_columns(
        pl.max_horizontal(pl.col("debt").fill_null(0.0), pl.col("reported_debt")).alias("debt")
    ).drop("reported_debt")


def eligibility(product: LoanProduct, zone, year: int, usccs: list[str]) -> pl.DataFrame:
    """The product's eligibility rule over the firms (uscc, eligibility, eligibility_reasons)."""
    schema = {"uscc": pl.String, "eligibility": pl.String, "eligibility_reasons": pl.String}
    if not product.eligibility:
        return pl.DataFrame({"uscc": usccs}, schema={"uscc": pl.String}).with_columns(
            pl.lit("eligible").alias("eligibility"), pl.lit("").alias("eligibility_reasons")
        )
    criterion = load_rule(product.eligibility, rule_id=f"product{product.pk}")
    panel = zone_derived(zone).filter(pl.col("uscc").is_in(usccs))
    if panel.is_empty():
        return pl.DataFrame(schema=schema)
    scores = scores_frame(latest_run(zone, year), year)
    result = evaluate(panel, [criterion], year=year, scores=scores)
    return result.select(
        "uscc",
        pl.col("status").alias("eligibility"),
        pl.col("reasons").alias("eligibility_reasons"),
    )


def product_lines(
    product: LoanProduct, zones, year: int | None = None, usccs: list[str] | None = None
) -> pl.DataFrame:
    """Every scored firm of `zones` (or only `usccs`) with its line under the product."""
    zones = list(zones)
    year = year or score_year(zones)
    table = table_of(product)
    parts = []
    for zone in zones if year else []:
        frame = firm_frame(zone, year, usccs)
        if frame.is_empty():
            continue
        elig = eligibility(product, zone, year, frame.get_column("uscc").to_list())
        parts.append(frame.join(elig, on="uscc", how="left"))
    if not parts:
        return pl.DataFrame(
            schema={**FIRM_SCHEMA, "line": pl.Float64, "status": pl.String, "year": pl.Int64}
        )
    frame = pl.concat(parts, how="diagonal_relaxed")
    lines = credit_lines(frame, table, float(product.amount_max))
    return lines.with_columns(pl.lit(year, pl.Int64).alias("year"))


def firm_line(product: LoanProduct, enterprise, year: int | None = None) -> dict | None:
    """One firm's computed row under the product (None when it has no score)."""
    frame = product_lines(product, [enterprise.zone], year, [enterprise.uscc])
    return frame.row(0, named=True) if frame.height else None


def shortlist(product: LoanProduct, frame: pl.DataFrame, enterprise_ids) -> pl.DataFrame:
    """The consenting firms that fit the product, ranked by suggested line then points."""
    ids = list(enterprise_ids)
    return (
        frame.filter(
            pl.col("enterprise_id").is_in(ids)
            & pl.col("status").is_in(["ok", "unknown"])
            & (pl.col("line") > 0)
            & (pl.col("line") >= float(product.amount_min))
        )
        .sort(["line", "total", "uscc"], descending=[True, True, False], nulls_last=True)
        .with_row_index("rank", offset=1)
    )
