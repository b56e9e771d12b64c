"""The `innopoints` command line: demo, serve, migrate, import, export, users; scoring and rules
commands are registered by their packages."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

app = typer.Typer(
    help="innopoints — enterprise innovation points platform (企业创新积分平台).",
    no_args_is_help=True,
    add_completion=False,
)
user_app = typer.Typer(help="Manage people and roles.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def setup_django() -> None:
    """Configure Django for commands that touch the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innopoints.site.settings")
    import django

    django.setup()


def fail(message: str, code: int = 2) -> None:
    """Print a message to stderr and exit non-zero."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1)


@app.command()
def serve(
    port: int = typer.Option(8000, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to bind."),
) -> None:
    """Serve the web application (embedded server; put a reverse proxy in front in production)."""
    setup_django()
    from django.core.management import call_command

    from innopoints.site.runtime import settle_heap

    settle_heap()
    typer.echo(f"innopoints: http://{host}:{port}/  (Ctrl+C to stop)")
    call_command("runserver", f"{host}:{port}", use_reloader=False)


@app.command()
def demo(
    enterprises: int = typer.Option(2000, "--enterprises", "-n", help="Synthetic enterprises."),
    years: int = typer.Option(4, "--years", "-k", help="Years of data per enterprise."),
    seed: int = typer.Option(1, help="Random seed (same seed, same zone)."),
    serve_site: bool = typer.Option(True, "--serve/--no-serve", help="Serve the site afterwards."),
    port: int = typer.Option(8000, help="Port for the site."),
    to_file: Path | None = typer.Option(
        None,
        "--to-file",
        help="Write the synthetic data to this directory instead of the database.",
    ),
    file_format: str = typer.Option(
        "parquet", "--format", help="csv, parquet or xlsx (--to-file)."
    ),
) -> None:
    """Build a demo zone with users for every role and synthetic enterprises, then serve it."""
    from innopoints.demo.generator import generate_zone, write_zone

    if enterprises < 1 or years < 1:
        fail("--enterprises and --years must be at least 1")
    if to_file is not None:
        if file_format not in ("csv", "parquet", "xlsx"):
            fail("--format must be csv, parquet or xlsx")
        with _progress_note(f"generating {enterprises:,} enterprises × {years} years"):
            zone = generate_zone(enterprises=enterprises, years=years, seed=seed)
        paths = write_zone(zone, to_file, file_format)
        for path in paths:
            typer.echo(str(path))
        return
    setup_django()
    from django.core.management import call_command

    from innopoints.demo.seed import build_demo

    call_command("migrate", interactive=False, verbosity=0)
    summary = build_demo(enterprises=enterprises, years=years, seed=seed, echo=typer.echo)
    typer.echo(summary)
    if serve_site:
        serve(port=port, host="127.0.0.1")


class _progress_note:
    def __init__(self, text: str) -> None:
        self.text = text

    def __enter__(self):
        typer.echo(f"{self.text} …", err=True)

    def __exit__(self, *exc):
        typer.echo("done", err=True)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=False, help="An .xlsx or .csv file."),
    zone: str = typer.Option(..., "--zone", help="Zone code."),
    mode: str = typer.Option("strict", "--mode", help="strict or valid-rows."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check only; write nothing."),
    report: Path | None = typer.Option(None, "--report", help="Copy the error report here."),
) -> None:
    """Import enterprise data into a zone (the same action as the upload page)."""
    if mode not in ("strict", "valid-rows"):
        fail("--mode must be strict or valid-rows / 模式只能是 strict 或 valid-rows")
    if not file.is_file():
        fail(f"文件不存在 / file not found: {file}")
    setup_django()
    from innopoints.enterprises.actions import do_import_file
    from innopoints.zones.models import Zone

    zone_obj = Zone.objects.filter(code=zone).first()
    if zone_obj is None:
        fail(f"园区不存在 / unknown zone: {zone}")
    with typer.progressbar(length=100, label="importing", file=sys.stderr) as bar:
        done = {"value": 0}

        def progress(fraction: float, message: str = "") -> None:
            step = int(fraction * 100) - done["value"]
            if step > 0:
                bar.update(step)
                done["value"] += step

        outcome = do_import_file(
            None, zone_obj, file, mode=mode, dry_run=dry_run, progress=progress
        )
        progress(1.0)
    if outcome.file_error:
        fail(f"{outcome.file_error['zh']}\n{outcome.file_error['en']}")
    for issue in outcome.issues[:50]:
        typer.echo(f"[{issue.severity}] {issue.message_zh} | {issue.message_en}", err=True)
    if len(outcome.issues) > 50:
        typer.echo(f"… {len(outcome.issues) - 50} more in the report", err=True)
    if outcome.batch.report_path and report is not None:
        import shutil

        shutil.copyfile(outcome.batch.report_path, report)
        typer.echo(f"report: {report}", err=True)
    for table, counts in (outcome.counts or {}).items():
        typer.echo(
            f"{table}: {counts['rows']} rows, {counts['created']} new, "
            f"{counts['changed']} changed, {counts['unchanged']} unchanged"
        )
    status = (
        "dry run, nothing written"
        if dry_run
        else ("written" if outcome.batch.written else "nothing written")
    )
    typer.echo(f"{status}; {outcome.errors} errors, {outcome.warnings} warnings")
    if outcome.errors and mode == "strict":
        raise typer.Exit(1)


@app.command("export")
def export_file(
    zone: str = typer.Option(..., "--zone", help="Zone code."),
    out: Path = typer.Option(..., "--out", help="Output file (.xlsx, .csv or .parquet)."),
    headers: str = typer.Option("zh", "--headers", help="zh (Chinese with units) or code."),
    wide: bool = typer.Option(False, "--wide", help="The wide panel for the scoring/rules CLIs."),
    years: str = typer.Option("", "--years", help="Comma-separated years (default all)."),
) -> None:
    """Export a zone's registry (the shape import accepts) or its wide panel."""
    setup_django()
    from innopoints.enterprises.exporting import registry_frames, write_registry
    from innopoints.zones.models import Zone

    zone_obj = Zone.objects.filter(code=zone).first()
    if zone_obj is None:
        fail(f"园区不存在 / unknown zone: {zone}")
    try:
        year_list = [int(y) for y in years.split(",") if y.strip()] or None
    except ValueError:
        fail("--years takes comma-separated numbers")
    suffix = out.suffix.lower().lstrip(".")
    if wide:
        from innopoints.standard.panel import wide_panel

        frames = registry_frames(zone_obj, year_list)
        panel = wide_panel(
            frames["enterprises"], frames["yearly"], frames["qualifications"], frames["negatives"]
        )
        if suffix == "parquet":
            panel.write_parquet(out)
        elif suffix == "csv":
            panel.write_csv(out)
        else:
            fail("--wide writes .csv or .parquet")
        typer.echo(f"{panel.height} rows → {out}")
        return
    if suffix not in ("xlsx", "csv"):
        fail("--out must end in .xlsx or .csv")
    if headers not in ("zh", "code"):
        fail("--headers must be zh or code")
    for path in write_registry(zone_obj, out, fmt=suffix, headers=headers, years=year_list):
        typer.echo(f"→ {path}")


@user_app.command("create")
def user_create(
    username: str,
    role: str = typer.Option(..., help="zone_admin, enterprise, bank or supervisor."),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
    zone: list[str] = typer.Option([], "--zone", help="Zone code (admins, supervisors)."),
    enterprise: str = typer.Option("", help="USCC (enterprise users)."),
    bank: str = typer.Option("", help="Bank code (bank users)."),
) -> None:
    """Create a user with a role."""
    setup_django()
    from django.core.exceptions import ValidationError

    from innopoints.accounts.actions import do_create_user
    from innopoints.enterprises.models import Enterprise
    from innopoints.zones.models import Bank, Zone

    zones = list(Zone.objects.filter(code__in=zone))
    if len(zones) != len(set(zone)):
        fail(f"unknown zone among {zone}")
    ent = Enterprise.objects.filter(uscc=enterprise.upper()).first() if enterprise else None
    bank_obj = Bank.objects.filter(code=bank).first() if bank else None
    try:
        do_create_user(None, username, password, role, zones=zones, enterprise=ent, bank=bank_obj)
    except ValidationError as exc:
        fail("; ".join(exc.messages))
    typer.echo(f"created {username} ({role})")


def _register_optional() -> None:
    """Attach the command groups of the engine packages that are installed."""
    import importlib

    for module_name in (
        "innopoints.cli_scoring",
        "innopoints.cli_rules",
        "innopoints.cli_finance",
        "innopoints.cli_policies",
    ):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(app)


_register_optional()


def main() -> None:
    """Console-script entry point."""
    app()
