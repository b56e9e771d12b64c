"""CLI for credit lines: `innopoints credit` (a grade table over every firm of a points file).

`register(app)` adds the command to the main Typer app (see `innopoints.cli`). Engine only:
no database. Inputs are the files the other commands write: the wide panel
(`innopoints export --wide` or `demo --to-file`) and the points (`innopoints score`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer
import yaml

from innopoints.engine.credit import (
    DEFAULT_TABLE,
    CreditTableError,
    credit_lines,
    explain,
    parse_table,
)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        _fail(f"file not found / 文件不存在: {path}")
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError) as exc:
        _fail(f"cannot read {path}: {exc}")
    _fail(f"unsupported file type {path.suffix!r}: use .csv or .parquet")
    raise AssertionError


def _table(spec: str):
    if spec == "default":  # a file may be YAML or JSON (YAML reads both)
        doc = DEFAULT_TABLE
    else:
        path = Path(spec)
        if not path.is_file():
            _fail(f"table file not found / 额度表不存在: {path}")
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            _fail(f"cannot read the table {path}: {exc}")
    try:
        return parse_table(doc)
    except CreditTableError as exc:
        _fail("invalid table / 额度表无效:\n  " + "\n  ".join(exc.problems))
    raise AssertionError


def credit_frame(
    panel: pl.DataFrame, scores: pl.DataFrame, year: int | None, pct_column: str
) -> pl.DataFrame:
    """The engine's input for one year: points, band, percentile and stage from the scores,
    revenue, tax and negative records from the panel."""
    if year is None:
        year = int(scores.get_column("year").max())
    if pct_column not in scores.columns:
        _fail(f"the points file has no column {pct_column!r}")
    s = scores.filter(pl.col("year") == year).select(
        "uscc",
        pl.col("total").cast(pl.Float64),
        pl.col("band").cast(pl.String) if "band" in scores.columns else pl.lit(None, pl.String),
        pl.col(pct_column).cast(pl.Float64).alias("pct"),
        pl.col("stage").cast(pl.String) if "stage" in scores.columns else pl.lit(None, pl.String),
    )
    p = panel.filter(pl.col("year") == year)
    neg = [c for c in p.columns if c.startswith("neg_")]
    data = p.select(
        "uscc",
        *[
            (pl.col(c).cast(pl.Float64) if c in p.columns else pl.lit(None, pl.Float64)).alias(c)
            for c in ("revenue", "tax_paid")
        ],
        (pl.any_horizontal(neg).fill_null(False) if neg else pl.lit(False)).alias("negative"),
        *([pl.col("bank_debt").cast(pl.Float64).alias("debt")] if "bank_debt" in p.columns else []),
    )
    return s.join(data, on="uscc", how="left").with_columns(pl.lit(year).alias("year"))


def credit(
    data: Annotated[Path, typer.Option("--data", help="Wide panel (.parquet/.csv).")],
    scores: Annotated[Path, typer.Option("--scores", help="Points from `innopoints score`.")],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv/.parquet).")],
    table: Annotated[
        str, typer.Option("--table", help="Grade table (.yaml/.json) or 'default'.")
    ] = "default",
    product_max: Annotated[
        float, typer.Option("--product-max", help="The product's maximum (万元).", min=0)
    ] = 1000.0,
    year: Annotated[int | None, typer.Option("--year", help="Year (default: newest).")] = None,
    pct_column: Annotated[
        str, typer.Option("--pct-column", help="Percentile column of the points file.")
    ] = "pct_zone",
    explain_uscc: Annotated[
        str | None, typer.Option("--explain", help="Print the steps for this USCC.")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en.")] = "zh",
) -> None:
    """Suggested credit lines for every firm under a grade table (one Polars pass)."""
    grade_table = _table(table)
    frame = credit_frame(_read(data), _read(scores), year, pct_column)
    lines = credit_lines(frame, grade_table, product_max)
    if out.suffix.lower() == ".parquet":
        lines.write_parquet(out)
    elif out.suffix.lower() == ".csv":
        lines.write_csv(out)
    else:
        _fail(f"unsupported output type {out.suffix!r}: use .csv or .parquet")
    counts = lines.group_by("status").len().sort("status").iter_rows()
    typer.echo(" ".join(f"{s}={n}" for s, n in counts))
    typer.echo(f"wrote {out} ({lines.height} firms)")
    if explain_uscc:
        row = lines.filter(pl.col("uscc") == explain_uscc.upper())
        if row.is_empty():
            _fail(f"no firm {explain_uscc} in the points file")
        for i, step in enumerate(explain(row.row(0, named=True), lang), start=1):
            typer.echo(f"{i}. {step}")


def loans_overdue(
    on: Annotated[
        str | None, typer.Option("--on", help="Date (YYYY-MM-DD; default today).")
    ] = None,
) -> None:
    """Mark overdue every running loan with an instalment due before the date and unpaid."""
    import datetime as dt

    from innopoints.cli import setup_django

    try:
        day = dt.date.fromisoformat(on) if on else None
    except ValueError:
        _fail(f"--on: not a date / 日期无效: {on}")
    setup_django()
    from innopoints.finance.access import today
    from innopoints.finance.actions import do_flag_overdue_loans

    flagged = do_flag_overdue_loans(None, day or today())
    typer.echo(f"{len(flagged)} loans marked overdue" + (f": {flagged}" if flagged else ""))


def register(app: typer.Typer) -> None:
    """Add `credit` and `loans-overdue` to the main app."""
    app.command("credit")(credit)
    app.command("loans-overdue")(loans_overdue)
