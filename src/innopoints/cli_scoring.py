"""CLI for the scoring engine: `innopoints score` and `innopoints model validate|show|diff`.

`register(app)` adds the commands to the main Typer app (see `innopoints.cli`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from innopoints.engine.scoring import (
    DataError,
    ModelValidationError,
    diff_models,
    load_model,
    score,
    validate_document,
)
from innopoints.engine.scoring.model import IndicatorModel, read_document

model_app = typer.Typer(help="Indicator models: validate, show, diff.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _read_panel(path: Path) -> pl.DataFrame:
    """Read the wide panel (csv or parquet)."""
    if not path.is_file():
        _fail(f"data file not found: {path}")
    try:
        if path.suffix.lower() == ".parquet":
            return pl.read_parquet(path)
        if path.suffix.lower() in (".csv", ".txt"):
            return pl.read_csv(path, infer_schema_length=None, try_parse_dates=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        _fail(f"cannot read {path}: {exc}")
    _fail(f"unsupported data file type {path.suffix!r}: use .csv or .parquet")
    raise AssertionError  # unreachable


def _write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        frame.write_parquet(path, statistics=False)
    else:
        frame.write_csv(path)


def _load(source: str) -> IndicatorModel:
    try:
        return load_model(source)
    except FileNotFoundError as exc:
        _fail(str(exc))
    except ModelValidationError as exc:
        _fail(str(exc))
    raise AssertionError  # unreachable


def score_command(
    data: Annotated[
        Path, typer.Option("--data", help="Wide panel: one row per uscc + year (.csv/.parquet).")
    ],
    model: Annotated[str, typer.Option("--model", help="Shipped model name or a model YAML path.")],
    out: Annotated[Path, typer.Option("--out", help="Output file for the scores (.csv/.parquet).")],
    year: Annotated[
        int | None, typer.Option("--year", help="Year to score (default: the latest).")
    ] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Also write <out>.explain.<ext>.")
    ] = False,
) -> None:
    """Score a panel with an indicator model."""
    from innopoints.standard.derived import derive

    indicator_model = _load(model)
    panel = _read_panel(data)
    missing_keys = [c for c in ("uscc", "year") if c not in panel.columns]
    if missing_keys:
        _fail(f"the data lack the key columns {missing_keys}")
    try:
        derived = derive(panel).collect()
    except pl.exceptions.PolarsError as exc:
        _fail(f"cannot derive indicators from {data}: {exc}")
    years = sorted(derived.get_column("year").unique().drop_nulls().to_list())
    chosen = year if year is not None else (years[-1] if years else None)
    if chosen not in years:
        _fail(f"year {chosen} not in the data (years: {years})")
    cross_section = derived.filter(pl.col("year") == chosen)
    try:
        result = score(cross_section, indicator_model, explain=explain)
    except DataError as exc:
        _fail(str(exc))
    scores = result.scores.with_columns(
        pl.lit(indicator_model.id).alias("model_id"),
        pl.lit(indicator_model.version).alias("model_version"),
        pl.lit(result.run_hash).alias("run_hash"),
    )
    _write(scores, out)
    if explain and result.explanation is not None:
        _write(result.explanation, out.with_name(f"{out.stem}.explain{out.suffix}"))
    typer.echo(
        f"scored {scores.height} firms, year {chosen}, model {indicator_model.id} "
        f"{indicator_model.version}\nmodel {result.model_hash}\ndata  {result.data_hash}\n"
        f"run   {result.run_hash}\nwrote {out}"
    )


@model_app.command("validate")
def validate_command(
    source: Annotated[str, typer.Argument(help="Model name or YAML path.")],
) -> None:
    """Validate a model document; list every problem with its path."""
    try:
        raw = read_document(source)
    except (FileNotFoundError, ModelValidationError) as exc:
        _fail(str(exc))
    problems = validate_document(raw)
    if problems:
        for problem in problems:
            typer.echo(f"{problem.path}: {problem.message}", err=True)
        _fail(f"{len(problems)} problem(s) in {source}", code=1)
    model = load_model(raw)
    typer.echo(f"valid: {model.id} {model.version} {model.hash}")


@model_app.command("show")
def show_command(
    source: Annotated[str, typer.Argument(help="Model name or YAML path.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the canonical form as JSON.")
    ] = False,
) -> None:
    """Show a model: identity, stages and the hierarchy with weights per stage."""
    model = _load(source)
    if as_json:
        from innopoints.engine.scoring.model import canonical_form

        typer.echo(json.dumps(canonical_form(model.doc), ensure_ascii=False, indent=2))
        return
    doc = model.doc
    typer.echo(f"{doc.id} {doc.version}  {doc.name.zh} / {doc.name.en}")
    typer.echo(f"effective {doc.effective_from}  scale {doc.scale}  hash {model.hash}")
    typer.echo(f"reference: {doc.reference}")
    typer.echo("stages: " + ", ".join(f"{s.code} ({s.zh})" for s in model.stage_scheme.stages))
    stages = model.stage_codes
    typer.echo(f"{'item':40} {'method':12} " + " ".join(f"{s:>8}" for s in stages))

    def walk(node_id: str, depth: int) -> None:
        for child in model.children(node_id):
            method = getattr(child, "method", None)
            label = f"{'  ' * depth}{child.id} {child.name.zh}"
            weights = " ".join(f"{model.weight(child, s):8g}" for s in stages)
            typer.echo(f"{label:40} {(method.kind if method else 'node'):12} {weights}")
            walk(child.id, depth + 1)

    typer.echo(f"{model.root.id} {model.root.name.zh}")
    walk(model.root.id, 1)
    for item in doc.bonus:
        typer.echo(f"bonus    {item.id} ({item.name.zh}) {item.field}: {item.points}")
    for item in doc.negative:
        typer.echo(f"negative {item.id} ({item.name.zh}) {item.field}: {item.action}")


@model_app.command("diff")
def diff_command(
    old: Annotated[str, typer.Argument(help="Old model (name or path).")],
    new: Annotated[str, typer.Argument(help="New model (name or path).")],
) -> None:
    """List the differences between two models (path: old → new)."""
    a, b = _load(old), _load(new)
    changes = diff_models(a, b)
    if not changes:
        typer.echo("no differences")
        return

    def short(value: Any) -> str:
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 80 else text[:77] + "..."

    for path, before, after in changes:
        typer.echo(f"{path}: {short(before)} → {short(after)}")
    typer.echo(f"{len(changes)} change(s); hashes {a.hash} → {b.hash}")


def register(app: typer.Typer) -> None:
    """Add `score` and the `model` command group to the main CLI app."""
    app.command("score")(score_command)
    app.add_typer(model_app, name="model")
