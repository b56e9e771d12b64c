"""Exports of the registry in the shape the import accepts (round trip is lossless)."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import polars as pl
from django.http import FileResponse, HttpResponse

from innopoints.audit.actions import record
from innopoints.enterprises.models import Enterprise
from innopoints.enterprises.panel import read_registry
from innopoints.standard.catalogue import STANDARD_FIELDS
from innopoints.zones.models import Zone


def registry_frames(zone: Zone, years: list[int] | None = None) -> dict[str, pl.DataFrame]:
    """The zone's registry tables, optionally limited to some years of yearly data."""
    frames = read_registry(Enterprise.objects.filter(zone=zone), zone.custom_fields())
    if years:
        frames["yearly"] = frames["yearly"].filter(pl.col("year").is_in(years))
    return frames


def write_registry(
    zone: Zone,
    path: Path,
    *,
    fmt: str = "xlsx",
    headers: str = "zh",
    years: list[int] | None = None,
) -> list[Path]:
    """Write the zone's registry to `path`; returns the files written.

    .xlsx: one workbook, one sheet per table. .csv: `path` holds enterprises with their
    yearly rows; qualifications and negative records go to files beside it.
    """
    from innopoints.standard import tabular

    frames = registry_frames(zone, years)
    return tabular.write_tables(
        frames, path, fmt=fmt, headers=headers, custom_fields=zone.custom_fields()
    )


def export_registry(user, zone: Zone, *, fmt: str, headers: str, years=None) -> FileResponse:
    """An HTTP download of the zone's registry; the export is noted in the audit trail."""
    directory = Path(tempfile.mkdtemp(prefix="innopoints-export-"))
    paths = write_registry(
        zone, directory / f"{zone.code}-registry.{fmt}", fmt=fmt, headers=headers, years=years
    )
    record(
        user,
        "export",
        zone,
        zone=zone,
        detail={"format": fmt, "headers": headers, "years": years or "all"},
    )
    if len(paths) == 1:
        path = paths[0]
    else:
        path = directory / f"{zone.code}-registry-{fmt}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in paths:
                archive.write(part, part.name)
    return FileResponse(open(path, "rb"), as_attachment=True, filename=path.name)  # noqa: SIM115


def export_table_response(frame: pl.DataFrame, name: str, fmt: str, lang: str) -> HttpResponse:
    """A list page's rows as .xlsx or .csv, headers in the page's language."""

    def header(code: str) -> str:
        f = STANDARD_FIELDS.get(code)
        if f is None:
            return code
        return f.label(lang) + (f"（{f.unit_zh}）" if lang == "zh" and f.unit_zh else "")

    frame = frame.rename({c: header(c) for c in frame.columns})
    if fmt == "csv":
        body = frame.write_csv().encode("utf-8-sig")
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    else:
        directory = Path(tempfile.mkdtemp(prefix="innopoints-list-"))
        path = directory / f"{name}.xlsx"
        _write_simple_xlsx(frame, path)
        response = HttpResponse(
            path.read_bytes(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _write_simple_xlsx(frame: pl.DataFrame, path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("data")
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append(list(row))
    workbook.save(path)
