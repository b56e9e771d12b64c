"""CLI for policies: `innopoints policies import|export|match`.

`register(app)` adds the command group to the main Typer app (see `innopoints.cli`).
Writes go through `policies.actions` (audited as the `cli` source, no user).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

policies_app = typer.Typer(help="Policies (惠企政策): import, export, match.", no_args_is_help=True)


def _fail(message: str, code: int = 2) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _zone(code: str):
    from innopoints.cli import setup_django

    setup_django()
    from innopoints.zones.models import Zone

    zone = Zone.objects.filter(code=code).first()
    if zone is None:
        _fail(f"未找到园区 {code} / no zone {code!r}")
    return zone


@policies_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="A YAML catalogue or the Excel template.")],
    zone: Annotated[str, typer.Option("--zone", help="Zone code.")],
    publish: Annotated[bool, typer.Option(help="Publish the new versions (and match).")] = False,
) -> None:
    """Import a catalogue; nothing is written when a row has a problem (exit 1)."""
    target = _zone(zone)
    from innopoints.policies.actions import do_import_policies
    from innopoints.policies.catalogue import CatalogueFileError, read_excel, read_yaml

    if not path.is_file():
        _fail(f"文件不存在 / file not found: {path}")
    try:
        data = path.read_bytes()
        entries = read_excel(data) if path.suffix.lower() == ".xlsx" else read_yaml(data)
    except CatalogueFileError as exc:
        _fail(str(exc))
    result = do_import_policies(None, target, entries, publish=publish, file_name=path.name)
    if result.issues:
        for issue in result.issues:
            typer.echo(str(issue), err=True)
        _fail(f"{len(result.issues)} 个问题，未导入 / problems, nothing imported", 1)
    typer.echo(
        f"new {len(result.created)}, new versions {len(result.new_versions)}, "
        f"unchanged {len(result.unchanged)}, published {len(result.published)}"
    )


@policies_app.command("export")
def export_command(
    out: Annotated[Path, typer.Argument(help="Output file: .yaml or .xlsx.")],
    zone: Annotated[str, typer.Option("--zone", help="Zone code.")],
) -> None:
    """Export the newest version of every policy of the zone."""
    target = _zone(zone)
    from innopoints.policies.actions import version_values
    from innopoints.policies.catalogue import write_excel, write_yaml
    from innopoints.policies.models import Policy

    entries = []
    for policy in Policy.objects.filter(zone=target).order_by("code"):
        version = policy.published() or policy.versions.order_by("-number").first()
        if version is not None:
            entries.append(version_values(version))
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".xlsx":
        out.write_bytes(write_excel(entries))
    else:
        out.write_text(write_yaml(entries), encoding="utf-8")
    typer.echo(f"{len(entries)} policies → {out}")


@policies_app.command("match")
def match_command(
    zone: Annotated[str, typer.Option("--zone", help="Zone code.")],
    year: Annotated[int | None, typer.Option(help="Data year (default: the newest).")] = None,
) -> None:
    """Match every published policy against every firm of the zone and store the results."""
    target = _zone(zone)
    from innopoints.policies.actions import do_match_policies

    run = do_match_policies(None, target, year=year, reason="cli")
    if run is None:
        _fail("没有已发布的政策或没有数据 / no published policy or no data", 1)
    typer.echo(
        f"{run.policies} policies × {run.firms} firms ({run.year}) in {run.seconds} s: "
        f"{run.counts}; {run.new_matches} new matches"
    )


def register(app: typer.Typer) -> None:
    """Attach `policies` to the main CLI."""
    app.add_typer(policies_app, name="policies")
