"""CLI for the rules engine: `innopoints check` (criteria over a wide panel file).

`register(app)` adds the command to the main Typer app (see `innopoints.cli`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from innopoints.engine.rules import DataError, RuleError, evaluate, load_criterion
from innopoints.engine.rules.criteria import OFFICIAL


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read(path: Path) -> pl.DataFrame:
    if not path.is_file():
        _fail(f"data file not found / 数据文件不存在: {path}")
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema_length=None, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        _fail(f"cannot read {path}: {exc}")
    _fail(f"unsupported data file type {path.suffix!r}: use .csv or .parquet")
    raise AssertionError


def _criteria(rules: str) -> list:
    if rules == "official":
        return [load_criterion(n) for n in OFFICIAL]
    path = Path(rules)
    files = (
        sorted(
            p
            for p in path.glob("*.yaml")
            if not p.name.endswith(".tests.yaml") and not p.name.startswith("_")
        )
        if path.is_dir()
        else [path]
    )
    if not files or not all(f.is_file() for f in files):
        _fail(f"no criteria at {rules!r}: use 'official', a criterion YAML or a directory")
    return [load_criterion(f) for f in files]


def check_command(
    data: Annotated[Path, typer.Option("--data", help="Wide panel (.csv/.parquet).")],
    rules: Annotated[
        str, typer.Option("--rules", help="'official', a criterion YAML, or a directory of them.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output file (.csv/.parquet).")],
    year: Annotated[int | None, typer.Option("--year", help="Year (default: the latest).")] = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (default) or en reasons.")] = "zh",
) -> None:
    """Evaluate criteria for every firm: uscc,criterion,status,score,reasons."""
    if lang not in ("zh", "en"):
        _fail("--lang must be zh or en")
    if out.suffix.lower() not in (".csv", ".parquet"):
        _fail("--out must end in .csv or .parquet")
    try:
        criteria = _criteria(rules)
    except (RuleError, FileNotFoundError) as exc:
        _fail(f"invalid rules:\n{exc}")
    panel = _read(data)
    for key in ("uscc", "year"):
        if key not in panel.columns:
            _fail(f"the data lack the column {key!r} (a wide panel has uscc and year)")
    if panel.is_empty():
        _fail("the data file has no rows")
    try:
        panel = panel.with_columns(pl.col("year").cast(pl.Int64))
    except pl.exceptions.PolarsError:
        _fail("the year column is not numeric")
    years = panel["year"].unique().to_list()
    target = year if year is not None else max(years)
    if target not in years:
        _fail(f"no rows for year {target} (the data have {sorted(years)})")
    typer.echo(f"checking {len(criteria)} criteria for year {target} …", err=True)
    try:
        result = evaluate(panel, criteria, year=target, lang=lang)
    except DataError as exc:
        _fail(str(exc))
    except pl.exceptions.PolarsError as exc:
        _fail(f"the data do not fit the rules: {exc}")
    table = result.select(
        "uscc",
        "criterion",
        "status",
        pl.when(pl.col("score").is_not_null())
        .then(pl.col("score").round(2).cast(pl.String).str.strip_suffix(".0"))
        .when(pl.col("score_min").is_not_null())
        .then(
            pl.concat_str(
                pl.col("score_min").round(2).cast(pl.String).str.strip_suffix(".0"),
                pl.lit("–"),
                pl.col("score_max").round(2).cast(pl.String).str.strip_suffix(".0"),
            )
        )
        .alias("score"),
        "reasons",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".parquet":
        table.write_parquet(out)
    else:
        table.write_csv(out)
    counts = table.group_by("criterion", "status").len().sort("criterion", "status")
    for row in counts.iter_rows(named=True):
        typer.echo(f"{row['criterion']}: {row['status']} {row['len']}", err=True)
    typer.echo(f"{table.height} rows → {out}")


def register(app: typer.Typer) -> None:
    """Attach `check` to the main CLI."""
    app.command("check")(check_command)
