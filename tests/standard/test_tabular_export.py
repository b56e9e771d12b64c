"""Export → read → validate is lossless; the error report marks bad cells."""

from __future__ import annotations

import openpyxl
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from innopoints.standard.catalogue import custom_field
from innopoints.standard.report import ISSUES_SHEET, write_error_report
from innopoints.standard.tabular import read_files, read_workbook, validate, write_tables
from tests.standard.tabular_builders import TODAY, sample_frames, uscc


def _same(result, frames):
    for table, original in frames.items():
        got = result.tables()[table]
        assert set(got.columns) == set(original.columns), table
        got = got.select(original.columns).sort(got.columns[:2])
        assert_frame_equal(got, original.sort(original.columns[:2]), check_dtypes=True)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("headers", ["zh", "code"])
def test_round_trip(tmp_path, fmt, headers):
    frames = sample_frames(n=15, years=3)
    paths = write_tables(frames, tmp_path / f"registry.{fmt}", headers=headers)
    if fmt == "xlsx":
        assert len(paths) == 1
        assert openpyxl.load_workbook(paths[0], read_only=True).sheetnames == [
            "企业",
            "年度数据",
            "资质",
            "负面记录",
        ]
        wb = read_workbook(paths[0])
    else:
        assert [p.name for p in paths] == [
            "registry.csv",
            "registry-资质.csv",
            "registry-负面记录.csv",
        ]
        wb = read_files(paths)
    if headers == "zh":
        assert "营业收入（万元）" in wb.sheets[0 if fmt == "csv" else 1].headers
    result = validate(wb, today=TODAY, zone_code="Z01")
    assert result.issues_frame.height == 0, result.issues_frame.head(5).to_dicts()
    _same(result, frames)


def test_round_trip_gbk_csv_with_custom_field(tmp_path):
    cf = custom_field("ai_patents", "人工智能专利数", "AI patents", "int", "件", "items", minimum=0)
    frames = sample_frames(n=8, years=2)
    frames["yearly"] = frames["yearly"].with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("ai_patents")
    )
    frames = {k: frames[k] for k in ("enterprises", "yearly")}
    (path,) = write_tables(frames, tmp_path / "gbk.csv", encoding="gb18030", custom_fields=[cf])
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    wb = read_workbook(path, custom_fields=[cf])
    result = validate(wb, today=TODAY, custom_fields=[cf])
    assert not result.has_errors
    _same(result, frames)


def test_csv_enterprise_without_yearly_rows(tmp_path):
    frames = sample_frames(n=3, years=1)
    frames["yearly"] = frames["yearly"].filter(pl.col("uscc") != uscc(2))
    frames = {k: frames[k] for k in ("enterprises", "yearly")}
    (path,) = write_tables(frames, tmp_path / "part.csv", headers="code")
    result = validate(read_workbook(path), today=TODAY)
    assert not result.has_errors
    _same(result, frames)


def test_error_report_marks_cells(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "统一社会信用代码,企业名称,年度,职工总数,科技人员数,备注\n"
        f"{uscc(1)},甲,2023,100,120,x\n"
        f"{uscc(1)},甲,2024,abc,1,\n"
        "\n"
        f"{uscc(2)},乙,2024,5,1,\n",
        encoding="utf-8",
    )
    wb = read_workbook(path)
    result = validate(wb, today=TODAY)
    report = write_error_report(result, wb, tmp_path / "report.xlsx")
    book = openpyxl.load_workbook(report)
    assert book.sheetnames == [ISSUES_SHEET, "bad"]
    listing = list(book[ISSUES_SHEET].iter_rows(values_only=True))
    assert len(listing) == 1 + result.issues_frame.height
    assert listing[1][1:4] == ("bad", 1, "备注")
    sheet = book["bad"]
    assert sheet["E2"].value == "120"
    assert sheet["E2"].fill.start_color.rgb.endswith("FFC7CE")
    assert "大于「职工总数」= 100" in sheet["E2"].comment.text
    assert "exceeds 'Total staff' = 100" in sheet["E2"].comment.text
    assert sheet["D3"].comment is not None and "不是有效数字" in sheet["D3"].comment.text
    assert sheet["F1"].fill.start_color.rgb.endswith("FFEB9C")  # unknown column: warning
    assert sheet["A5"].value == uscc(2) and sheet["A5"].comment is None  # row numbers kept


def test_error_report_many_issues_problem_rows_only(tmp_path):
    n = 10_000
    text = "uscc,year,revenue,main_revenue\n" + "".join(
        f"{uscc(i)},2023,10,{'20' if i % 2 else 'x'}\n" for i in range(n)
    )
    path = tmp_path / "many.csv"
    path.write_text(text, encoding="utf-8")
    wb = read_workbook(path)
    result = validate(wb, today=TODAY)
    assert result.errors.height == n
    report = write_error_report(result, wb, tmp_path / "many.xlsx", only_problem_rows=True)
    book = openpyxl.load_workbook(report, read_only=True)
    rows = list(book["many"].iter_rows(values_only=True))
    assert rows[0][0] == "原行号 Row" and len(rows) == n + 1
    assert rows[1][0] == 2
