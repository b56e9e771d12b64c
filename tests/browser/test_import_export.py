"""A zone admin imports files through the upload page and exports the registry."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from tests.conftest import uscc

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

YEARLY_SHEET = "年度数据"
BATCH_URL = re.compile(r"/imports/\d+/$")


def _registry_workbook(zone, path: Path, edits: dict[tuple[str, int, str], object]) -> Path:
    """Export `zone` to `path` (.xlsx, Chinese headers) and apply `edits` to the yearly sheet.

    `edits` maps (uscc, year, header prefix) to the new cell value.
    """
    from innopoints.enterprises.exporting import write_registry

    (written,) = write_registry(zone, path, fmt="xlsx")
    workbook = openpyxl.load_workbook(written)
    sheet = workbook[YEARLY_SHEET]
    headers = [cell.value for cell in sheet[1]]
    for (firm, year, prefix), value in edits.items():
        column = next(i for i, h in enumerate(headers, 1) if h and h.startswith(prefix))
        row = next(
            r
            for r in range(2, sheet.max_row + 1)
            if sheet.cell(r, 1).value == firm and sheet.cell(r, 2).value == year
        )
        sheet.cell(row, column).value = value
    workbook.save(written)
    return written


def _upload(page, path: Path, mode: str = "strict") -> None:
    """Submit the upload form and follow the progress page to the batch page."""
    page.goto("/imports/")
    page.set_input_files("#import-form input[type=file]", str(path))
    page.select_option("#import-form select[name=mode]", mode)
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")
    # The job ran inline; the progress box polls it and moves on to the batch page.
    page.wait_for_url(BATCH_URL)


def _counts(page) -> dict[str, list[int]]:
    """The "rows by table" table: table → [rows, new, changed, unchanged]."""
    counts = {}
    for row in page.locator("#counts tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        counts[cells[0].strip()] = [int(c.replace(",", "")) for c in cells[1:]]
    return counts


def _revenue_cells(page, firm: str) -> list[str]:
    """The revenue row (first row) of a firm's yearly data table."""
    page.goto(f"/enterprises/{firm}/")
    return page.locator("#yearly-table tbody tr").first.locator("td").all_inner_texts()


def test_admin_imports_a_changed_value(page, users, zone, login, screenshot, tmp_path) -> None:
    """One changed revenue cell: the batch shows one changed row and the firm page shows it."""
    path = _registry_workbook(
        zone, tmp_path / "registry-2025.xlsx", {(uscc(2), 2024, "营业收入"): 2500}
    )
    login(page, "admin")
    _upload(page, path)

    expect(page.locator(".pagehead h1")).to_contain_text("registry-2025.xlsx")
    expect(page.locator("#result .good")).to_be_visible()
    counts = _counts(page)
    changed = {table: c[2] for table, c in counts.items()}
    assert sum(changed.values()) == 1, counts
    assert sum(c[1] for c in counts.values()) == 0, counts  # nothing new
    (table,) = [t for t, n in changed.items() if n == 1]
    assert "year" in table.lower() or "年度" in table, counts
    assert counts[table][0] == 6  # 3 firms × 2 years, 5 unchanged
    assert counts[table][3] == 5
    expect(page.locator("#issues .bad")).to_have_count(0)
    screenshot(page, "admin-import-batch")

    assert _revenue_cells(page, uscc(2)) == ["2,000.00", "2,500.00"]

    # The batch is listed on the import page, written, with no errors.
    page.goto("/imports/")
    first = page.locator("#batches tbody tr").first
    expect(first).to_contain_text("registry-2025.xlsx")
    expect(first.locator(".good")).to_be_visible()


def test_strict_import_with_a_bad_row_writes_nothing_and_reports_it(
    page, users, zone, login, screenshot, tmp_path
) -> None:
    """tech_staff > staff_total in strict mode: the error names row and field, nothing is
    written (not even the valid change), and the .xlsx report downloads."""
    # Firm 3's 2024 row is row 7 of the yearly sheet (header, then 2 rows per firm).
    path = _registry_workbook(
        zone,
        tmp_path / "bad-rows.xlsx",
        {
            (uscc(3), 2024, "科技人员数"): 500,  # > 职工总数 100
            (uscc(2), 2024, "营业收入"): 2500,  # a valid change, must not be written
        },
    )
    login(page, "admin")
    _upload(page, path, mode="strict")

    expect(page.locator("#result .good")).to_have_count(0)
    errors = page.locator("#issues tbody tr.error")
    expect(errors).not_to_have_count(0)
    cells = [row.locator("td").all_inner_texts() for row in errors.all()]
    # severity, sheet, row, column, value, problem
    bad = [c for c in cells if c[2].strip() == "7"]
    assert bad, cells
    assert any(c[1] == YEARLY_SHEET for c in bad), bad
    assert any("科技人员" in c[3] or "tech_staff" in c[3] for c in bad), bad
    assert any(c[4].strip() == "500" for c in bad), bad
    screenshot(page, "admin-import-errors")

    with page.expect_download() as info:
        page.click("#report-link")
    download = info.value
    assert download.suggested_filename.endswith("-report.xlsx")
    report = tmp_path / download.suggested_filename
    download.save_as(report)
    workbook = openpyxl.load_workbook(report)
    # First sheet: the issue list (severity, sheet, row, column, ...); then the uploaded
    # sheets copied with the bad cell filled.
    listed = list(workbook.worksheets[0].iter_rows(min_row=2, values_only=True))
    assert any(r[1] == YEARLY_SHEET and r[2] == 7 for r in listed), listed
    copy = workbook[YEARLY_SHEET]
    headers = [c.value for c in copy[1]]
    column = next(i for i, h in enumerate(headers, 1) if h and h.startswith("科技人员数"))
    bad_cell = copy.cell(7, column)
    assert str(bad_cell.value) == "500"  # the copy holds the raw text of the upload
    assert bad_cell.fill.fill_type == "solid", "the bad cell is not marked"

    # Strict mode: the valid change in the same file was not written either.
    assert _revenue_cells(page, uscc(2)) == ["2,000.00", "2,100.00"]


def test_admin_exports_the_registry_as_xlsx(page, users, login, tmp_path) -> None:
    """The export page downloads an .xlsx with the enterprise and yearly sheets."""
    login(page, "admin")
    page.click("header nav a[href='/export/']")
    page.wait_for_url(re.compile(r"/export/$"))
    page.select_option("#export-form select[name=format]", "xlsx")
    page.select_option("#export-form select[name=headers]", "zh")
    with page.expect_download() as info:
        page.click("#export-form button[type=submit]")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    workbook = openpyxl.load_workbook(path)
    assert {"企业", YEARLY_SHEET} <= set(workbook.sheetnames), workbook.sheetnames
    firms = [row[0] for row in workbook["企业"].iter_rows(min_row=2, values_only=True)]
    assert sorted(firms) == sorted([uscc(1), uscc(2), uscc(3)])  # not the other zone's
    yearly = list(workbook[YEARLY_SHEET].iter_rows(min_row=2, values_only=True))
    assert len(yearly) == 6
