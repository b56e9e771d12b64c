"""Helpers of the portal tests: scored zones, publications, minimal files of each type."""

from __future__ import annotations

import io

from tests.scoring.helpers import TINY_MODEL

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


def xlsx_bytes() -> bytes:
    """A real (tiny) .xlsx workbook."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["uscc", "revenue"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def score_years(zone, actor, years=(2024,), text: str = TINY_MODEL) -> dict[int, object]:
    """Upload and activate the tiny model for each year and run it; {year: run}."""
    from innopoints.scoring.actions import (
        do_activate_model_version,
        do_start_scoring_run,
        do_upload_model_version,
    )

    version, _created = do_upload_model_version(actor, zone, text)
    runs = {}
    for year in years:
        do_activate_model_version(actor, zone, year, version)
        run = do_start_scoring_run(actor, zone, year)
        assert run.status == "done", run.error
        runs[year] = run
    return runs


def placement_rows(publication) -> list[tuple]:
    """A publication's rows as plain tuples (to compare before and after)."""
    from innopoints.portal.actions import SNAPSHOT_FIELDS

    return list(publication.placements.order_by("uscc").values_list(*SNAPSHOT_FIELDS))
