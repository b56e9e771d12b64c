"""The import error report (错误报告): an .xlsx with every issue listed and the bad cells marked.

Pure (openpyxl, no Django). The first sheet "错误清单 Issues" lists every issue; then each
uploaded sheet is copied with bad cells filled red (warnings yellow) and a comment with
the bilingual message. Written in openpyxl's write-only mode, so 10^4+ issues are fine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from innopoints.standard.tabular import (
    ISSUE_SCHEMA,
    ImportIssue,
    ValidationResult,
    Workbook,
)

ISSUES_SHEET = "错误清单 Issues"
ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"
AUTO_PROBLEM_ROWS = 20_000  # above this many uploaded rows only rows with issues are copied
_HEADERS = (
    "级别 Severity",
    "工作表 Sheet",
    "行 Row",
    "列 Column",
    "字段 Field",
    "值 Value",
    "代码 Code",
    "说明",
    "Message",
)


def _issues_frame(issues: ValidationResult | pl.DataFrame | Iterable[ImportIssue]) -> pl.DataFrame:
    if isinstance(issues, ValidationResult):
        return issues.issues_frame
    if isinstance(issues, pl.DataFrame):
        return issues
    rows = [i.__dict__ for i in issues]
    return pl.DataFrame(rows, schema=ISSUE_SCHEMA) if rows else pl.DataFrame(schema=ISSUE_SCHEMA)


def _safe_title(name: str, used: set[str]) -> str:
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    base, n = title, 2
    while title in used:
        suffix = f" ({n})"
        title = base[: 31 - len(suffix)] + suffix
        n += 1
    used.add(title)
    return title


def write_error_report(
    issues: ValidationResult | pl.DataFrame | Iterable[ImportIssue],
    workbook: Workbook,
    path: str | Path,
    *,
    only_problem_rows: bool | None = None,
    max_comments: int = 50_000,
) -> Path:
    """Write the error report for `workbook` to `path` (.xlsx) and return the path.

    `issues` is a `ValidationResult`, its `issues_frame` or a list of `ImportIssue`s.
    Each uploaded sheet is copied: with all its rows at their original row numbers, or
    (`only_problem_rows`, the default above 20,000 uploaded rows) only the rows with an
    issue, with the original row number in an extra first column.
    """
    from openpyxl import Workbook as XlWorkbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    path = Path(path)
    frame = _issues_frame(issues)
    red = PatternFill("solid", start_color=ERROR_FILL, end_color=ERROR_FILL)
    yellow = PatternFill("solid", start_color=WARNING_FILL, end_color=WARNING_FILL)
    bold = Font(bold=True)
    if only_problem_rows is None:
        only_problem_rows = sum(s.raw.height for s in workbook.sheets) > AUTO_PROBLEM_ROWS

    wb = XlWorkbook(write_only=True)
    used: set[str] = set()
    ws = wb.create_sheet(_safe_title(ISSUES_SHEET, used))
    ws.append([_bold(WriteOnlyCell(ws, value=h), bold) for h in _HEADERS])
    for row in frame.select(
        "severity", "sheet", "row", "column", "field", "value", "code", "message_zh", "message_en"
    ).iter_rows():
        sev = "错误 error" if row[0] == "error" else "警告 warning"
        cell = WriteOnlyCell(ws, value=sev)
        cell.fill = red if row[0] == "error" else yellow
        ws.append([cell, *row[1:]])

    # (sheet, row) -> column -> [(severity, zh, en)]
    marks: dict[tuple[str, int], dict[str, list[tuple[str, str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for sheet, row, column, severity, zh, en in frame.select(
        "sheet", "row", "column", "severity", "message_zh", "message_en"
    ).iter_rows():
        marks[(sheet, row)][column or ""].append((severity, zh, en))

    comments = 0
    for sheet in workbook.sheets:
        ws = wb.create_sheet(_safe_title(sheet.name, used))
        headers = sheet.headers

        def styled(
            ws, value, column: str, cell_marks: dict[str, list[tuple[str, str, str]]]
        ) -> object:
            nonlocal comments
            found = cell_marks.get(column)
            if not found:
                return value
            cell = WriteOnlyCell(ws, value=value)
            cell.fill = red if any(s == "error" for s, _, _ in found) else yellow
            if comments < max_comments:
                text = "\n".join(f"{zh}\n{en}" for _, zh, en in found)
                cell.comment = Comment(text[:30000], "innopoints")
                comments += 1
            return cell

        def place(
            row_marks: dict[str, list[tuple[str, str, str]]], headers: list[str] = headers
        ) -> dict:
            # issues naming no column of this sheet go on the first column
            placed: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
            for column, found in row_marks.items():
                placed[column if column in headers else headers[0]].extend(found)
            return placed

        prefix = ["原行号 Row"] if only_problem_rows else []
        header_marks = place(marks.get((sheet.name, sheet.header_row), {}))
        if not only_problem_rows:
            for _ in range(sheet.header_row - 1):
                ws.append([])
        ws.append(
            [_bold(WriteOnlyCell(ws, value=h), bold) for h in prefix]
            + [_bold(styled(ws, h, h, header_marks), bold) for h in headers]
        )
        body = sheet.raw.select("_row", *headers)
        if only_problem_rows:
            rows_with = pl.Series([r for (s, r) in marks if s == sheet.name], dtype=pl.Int64)
            body = body.filter(pl.col("_row").is_in(rows_with.implode()))
        expected = sheet.header_row + 1
        for values in body.iter_rows():
            excel_row = values[0]
            if not only_problem_rows:
                while expected < excel_row:  # blank rows stay blank
                    ws.append([])
                    expected += 1
                expected = excel_row + 1
            row_marks = marks.get((sheet.name, excel_row))
            cells = list(values[1:])
            if row_marks:
                placed = place(row_marks)
                cells = [styled(ws, v, h, placed) for v, h in zip(cells, headers, strict=True)]
            ws.append(([excel_row] if only_problem_rows else []) + cells)
    wb.save(path)
    return path


def _bold(cell, font):
    if hasattr(cell, "font"):
        cell.font = font
    return cell
