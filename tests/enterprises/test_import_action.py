"""The import action: round trips, idempotence, audited changes, strict vs valid-rows, bad files."""

from __future__ import annotations

import datetime as dt

import openpyxl
import polars as pl
import pytest

from innopoints.audit.models import AuditEvent
from innopoints.enterprises.actions import do_import_file
from innopoints.enterprises.exporting import registry_frames, write_registry
from innopoints.enterprises.models import Enterprise, ImportBatch, YearlyData
from innopoints.zones.models import Zone
from tests.conftest import uscc


@pytest.fixture
def exported(zone, firms, tmp_path):
    """The zone's registry exported as .xlsx with Chinese headers."""
    return write_registry(zone, tmp_path / "registry.xlsx", fmt="xlsx", headers="zh")[0]


def _set_cell(path, sheet: str, header: str, row: int, value) -> None:
    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    headers = [c.value for c in ws[1]]
    ws.cell(row=row, column=headers.index(header) + 1, value=value)
    book.save(path)


@pytest.mark.parametrize(
    "fmt,headers", [("xlsx", "zh"), ("xlsx", "code"), ("csv", "zh"), ("csv", "code")]
)
def test_export_then_import_changes_nothing(zone, firms, tmp_path, fmt, headers):
    before = registry_frames(zone)
    paths = write_registry(zone, tmp_path / f"r.{fmt}", fmt=fmt, headers=headers)
    for path in paths:
        outcome = do_import_file(None, zone, path)
        assert outcome.errors == 0, outcome.issues[:3]
        assert not outcome.batch.written
        assert all(c["created"] == 0 and c["changed"] == 0 for c in outcome.counts.values())
    after = registry_frames(zone)
    for table in before:
        assert before[table].equals(after[table]), table


def test_changed_value_is_written_and_audited_with_old_and_new(zone, firms, exported):
    _set_cell(exported, "年度数据", "营业收入（万元）", 2, 4321.5)
    outcome = do_import_file(None, zone, exported)
    assert outcome.counts["yearly"]["changed"] == 1
    assert outcome.batch.written
    row = YearlyData.objects.get(enterprise__uscc=uscc(1), year=2023)
    assert row.revenue == 4321.5
    event = AuditEvent.objects.get(action="yearly.change")
    assert event.changes == {"revenue": [1000.0, 4321.5]}
    assert event.zone == zone and event.detail["import_batch"] == outcome.batch.pk
    # importing the same file again is a no-op
    again = do_import_file(None, zone, exported)
    assert again.counts["yearly"]["changed"] == 0 and not again.batch.written


def test_strict_mode_writes_nothing_when_a_row_is_bad(zone, firms, exported):
    _set_cell(exported, "年度数据", "营业收入（万元）", 2, 5555.0)  # a valid change …
    _set_cell(exported, "年度数据", "科技人员数（人）", 3, 500)  # … and an invalid row
    version = Zone.objects.get(pk=zone.pk).data_version
    outcome = do_import_file(None, zone, exported, mode=ImportBatch.Mode.STRICT)
    assert outcome.errors >= 1 and not outcome.batch.written
    issue = next(i for i in outcome.issues if i.severity == "error")
    assert issue.row == 3 and issue.sheet == "年度数据" and issue.field == "tech_staff"
    assert "第 3 行" in issue.message_zh and "Row 3" in issue.message_en
    assert YearlyData.objects.get(enterprise__uscc=uscc(1), year=2023).revenue == 1000.0
    assert Zone.objects.get(pk=zone.pk).data_version == version
    assert outcome.batch.report_path.endswith(".xlsx")

    valid = do_import_file(None, zone, exported, mode=ImportBatch.Mode.VALID_ROWS)
    assert valid.batch.written and valid.counts["yearly"]["changed"] == 1
    assert YearlyData.objects.get(enterprise__uscc=uscc(1), year=2023).revenue == 5555.0
    assert YearlyData.objects.get(enterprise__uscc=uscc(1), year=2024).tech_staff == 21


def test_dry_run_reports_without_writing(zone, firms, exported):
    _set_cell(exported, "年度数据", "营业收入（万元）", 2, 7777.0)
    outcome = do_import_file(None, zone, exported, dry_run=True)
    assert outcome.counts["yearly"]["changed"] == 1 and not outcome.batch.written
    assert YearlyData.objects.get(enterprise__uscc=uscc(1), year=2023).revenue == 1000.0
    assert AuditEvent.objects.filter(action="import.dry_run").count() == 1


def test_a_firm_of_another_zone_cannot_be_imported(zone, other_zone, firms, tmp_path):
    path = write_registry(other_zone, tmp_path / "other.xlsx", fmt="xlsx")[0]
    outcome = do_import_file(None, zone, path)
    assert "other_zone" in {i.code for i in outcome.issues}
    assert not outcome.batch.written
    assert Enterprise.objects.get(uscc=uscc(9)).zone == other_zone


def test_new_enterprises_are_created_with_their_years(zone, tmp_path):
    frame = pl.DataFrame(
        {
            "统一社会信用代码": [uscc(41), uscc(42)],
            "企业名称": ["新企业甲有限公司", "新企业乙有限公司"],
            "国民经济行业代码": ["C3971", "I6513"],
            "成立日期": ["2020-01-02", "2021/3/4"],
            "年度": [2024, 2024],
            "营业收入（万元）": ["1,234.5", "800"],
            "职工总数": [50, 10],
            "科技人员数": [12, 3],
        }
    )
    path = tmp_path / "new.csv"
    path.write_bytes(frame.write_csv().encode("gb18030"))
    outcome = do_import_file(None, zone, path)
    assert outcome.errors == 0, outcome.issues
    assert outcome.counts["enterprises"]["created"] == 2
    firm = Enterprise.objects.get(uscc=uscc(41))
    assert firm.registered_on == dt.date(2020, 1, 2) and firm.zone == zone
    assert firm.years.get(year=2024).revenue == 1234.5
    event = AuditEvent.objects.get(action="import", object_id=str(outcome.batch.pk))
    assert event.detail["counts"]["yearly"]["created"] == 2


@pytest.mark.parametrize(
    "name,content,code",
    [
        ("picture.xlsx", b"\x89PNG\r\n\x1a\n" + b"0" * 100, None),
        ("empty.csv", b"", None),
    ],
)
def test_bad_files_are_rejected_cleanly(zone, firms, tmp_path, name, content, code):
    path = tmp_path / name
    path.write_bytes(content)
    count = YearlyData.objects.count()
    outcome = do_import_file(None, zone, path)
    assert outcome.file_error is not None
    assert outcome.file_error["zh"] and outcome.file_error["en"]
    assert YearlyData.objects.count() == count
    assert AuditEvent.objects.filter(action="import", detail__written=False).exists()
