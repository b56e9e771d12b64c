"""Validation rules: every check names row, column, value and reason in zh and en."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from innopoints.standard.catalogue import custom_field
from innopoints.standard.tabular import ValidationResult, read_workbook, validate
from tests.standard.tabular_builders import TODAY, uscc

U1, U2, U3 = uscc(1), uscc(2), uscc(3)


def _run(tmp_path: Path, text: str, name: str = "data.csv", **kw) -> ValidationResult:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    wb = read_workbook(path, custom_fields=kw.get("custom_fields", ()))
    return validate(wb, today=TODAY, **kw)


def _one(result: ValidationResult, code: str) -> dict:
    rows = result.issues_frame.filter(pl.col("code") == code).to_dicts()
    assert len(rows) == 1, (code, result.issues_frame.select("row", "code", "message_en").rows())
    return rows[0]


def _yearly(tmp_path, header: str, *rows: str, **kw) -> ValidationResult:
    lines = [f"统一社会信用代码,年度,{header}"] + [
        f"{U1},{2020 + i},{r}" for i, r in enumerate(rows)
    ]
    return _run(tmp_path, "\n".join(lines) + "\n", **kw)


def test_cross_field_message_exact(tmp_path):
    r = _run(
        tmp_path,
        "统一社会信用代码,年度,职工总数,科技人员数\n"
        + "".join(f"{U1},{2016 + i},100,10\n" for i in range(4))
        + f"{U1},2021,100,120\n",
    )
    issue = _one(r, "exceeds")
    assert issue["row"] == 6 and issue["column"] == "科技人员数" and issue["value"] == "120"
    assert issue["message_zh"] == "第 6 行「科技人员数」= 120 大于「职工总数」= 100"
    assert issue["message_en"] == "Row 6: 'Technology staff' = 120 exceeds 'Total staff' = 100"
    assert r.has_errors
    assert r.yearly.filter(~pl.col("_valid"))["_row"].to_list() == [6]
    assert r.valid_only().yearly.height == 4


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("研发人员数", "职工总数"),
        ("主营业务收入", "营业收入"),
        ("高新技术产品（服务）收入", "营业收入"),
        ("出口额", "营业收入"),
        ("境内研发费用", "研发费用"),
    ],
)
def test_other_cross_field_rules(tmp_path, a, b):
    r = _yearly(tmp_path, f"{b},{a}", "10,5", "10,11")
    issue = _one(r, "exceeds")
    assert issue["row"] == 3 and issue["message_zh"] == f"第 3 行「{a}」= 11 大于「{b}」= 10"


def test_numbers_thousands_fullwidth_and_bad(tmp_path):
    r = _yearly(tmp_path, "营业收入（万元）", '"1,234.5"', "１２３４", "12万", "-5", '"1,23"')
    assert r.yearly.sort("_row")["revenue"].to_list() == [1234.5, 1234.0, None, None, None]
    msgs = r.issues_frame.select("row", "code", "message_zh").rows()
    assert (4, "not_a_number", "第 4 行「营业收入（万元）」= 12万 不是有效数字") in msgs
    assert (5, "below_minimum", "第 5 行「营业收入（万元）」= -5 小于最小值 0") in msgs
    assert (6, "not_a_number", "第 6 行「营业收入（万元）」= 1,23 不是有效数字") in msgs


def test_integers(tmp_path):
    r = _yearly(tmp_path, "职工总数", "12", "12.5", "5%")
    assert r.yearly.sort("_row")["staff_total"].to_list() == [12, None, None]
    assert r.yearly.schema["staff_total"] == pl.Int64
    issue = _one(r, "not_integer")
    assert issue["message_en"] == "Row 3: 'Total staff' = 12.5 must be a whole number"
    assert _one(r, "percent_not_allowed")["row"] == 4


def test_ratios(tmp_path):
    r = _yearly(tmp_path, "细分市场全国占有率", "5%", "0.05", "5", "150%", "１２％")
    assert r.yearly.sort("_row")["market_share_national"].to_list() == [
        0.05,
        0.05,
        None,
        None,
        0.12,
    ]
    issue = _one(r, "ratio_not_fraction")
    assert issue["row"] == 4 and "ratios are fractions" in issue["message_en"]
    assert "比例应填小数" in issue["message_zh"]
    assert _one(r, "above_maximum")["message_en"] == (
        "Row 5: 'National niche market share' = 150% is above the maximum 1"
    )


def test_year_range_and_duplicates(tmp_path):
    r = _run(
        tmp_path,
        "uscc,year,revenue\n"
        f"{U1},1999,1\n{U1},2026,1\n{U1},2023,1\n{U2},2023,1\n{U1},2023,2\n{U1},2023,3\n",
    )
    assert [i["row"] for i in r.issues_frame.filter(pl.col("code") == "year_range").to_dicts()] == [
        2,
        3,
    ]
    assert "2000 至 2025" in r.issues_frame["message_zh"][0]
    dups = r.issues_frame.filter(pl.col("code") == "duplicate_key")
    assert dups["row"].to_list() == [4, 6, 7]
    assert dups["message_zh"][1] == (
        f"第 6 行：统一社会信用代码 {U1} 的 2023 年度数据重复（共 3 行，首次在「data」第 4 行）"
    )
    assert r.yearly.filter(pl.col("_valid"))["_row"].to_list() == [5]


def test_uscc_checks(tmp_path):
    bad_check = U1[:17] + ("0" if U1[17] != "0" else "1")
    r = _run(
        tmp_path,
        "统一社会信用代码,企业名称\n"
        f"{U1.lower()},小写也可以\n{bad_check},校验位错\n91110108ABCDEFGHIO,字符错\n123,长度错\n,空\n",
    )
    assert r.enterprises.filter(pl.col("_valid"))["uscc"].to_list() == [U1]
    codes = r.issues_frame.select("row", "code").rows()
    assert codes == [
        (3, "uscc_check_digit"),
        (4, "uscc_charset"),
        (5, "uscc_length"),
        (6, "required"),
    ]
    assert r.issues_frame["message_zh"][0] == (
        f"第 3 行「统一社会信用代码」= {bad_check} 不是有效的统一社会信用代码：校验位（第 18 位）不符"
    )


def test_enterprise_fields(tmp_path):
    long_name = "长" * 101
    r = _run(
        tmp_path,
        "统一社会信用代码,企业名称,国民经济行业代码,行政区划代码,成立日期,上市状态,所属园区\n"
        f"{U1},甲,c3971,110108,2021/3/5,上市后备,Z01\n"
        f"{U2},{long_name},C3,990000,2030-01-01,bogus,Z02\n"
        f"{U3},丙,I65,310115,20210305,listed,Z01\n",
        zone_code="Z01",
    )
    ent = r.enterprises.sort("_row")
    assert ent["industry_code"].to_list() == ["C3971", None, "I65"]
    assert ent["registered_on"].to_list() == [dt.date(2021, 3, 5), None, dt.date(2021, 3, 5)]
    assert ent["listing_status"].to_list() == ["reserve", None, "listed"]
    assert ent["_valid"].to_list() == [True, False, True]
    got = {i["code"]: i for i in r.issues_frame.to_dicts()}
    assert got["too_long"]["message_zh"] == "第 3 行「企业名称」超过 100 个字符"
    assert got["industry_format"]["value"] == "C3"
    assert got["region_province"]["message_en"].startswith(
        "Row 3: 'Region code (GB/T 2260)' = 990000"
    )
    assert (
        got["future_date"]["message_zh"] == "第 3 行「成立日期」= 2030-01-01 晚于今天（2025-06-30）"
    )
    assert "上市后备" in got["bad_enum"]["message_zh"]
    assert got["zone_mismatch"]["value"] == "Z02"


def test_dates_in_every_form(tmp_path):
    r = _run(
        tmp_path,
        "uscc,name,registered_on\n"
        + "".join(
            f"{uscc(i)},n{i},{d}\n"
            for i, d in enumerate(
                [
                    "2021-03-05",
                    "2021/3/5",
                    "20210305",
                    "44260",
                    "2021年3月5日",
                    "2021-03-05 00:00:00",
                    "2021-02-30",
                    "March",
                ]
            )
        ),
    )
    values = r.enterprises.sort("_row")["registered_on"].to_list()
    assert values[:6] == [dt.date(2021, 3, 5)] * 6 and values[6:] == [None, None]
    assert r.issues_frame.filter(pl.col("code") == "bad_date")["row"].to_list() == [8, 9]


def test_enterprise_duplicates_and_unknown_and_invalid_references(tmp_path):
    book = tmp_path / "book.xlsx"
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "企业"
    ws.append(["统一社会信用代码", "企业名称", "成立日期"])
    ws.append([U1, "甲", "2020-01-01"])
    ws.append([U2, "乙", "2030-01-01"])  # invalid enterprise
    ws.append([U1, "甲二", "2020-01-01"])  # duplicate
    y = wb.create_sheet("年度数据")
    y.append(["统一社会信用代码", "年度", "营业收入"])
    y.append([U2, 2023, 1])  # enterprise invalid
    y.append([U3, 2023, 1])  # unknown
    y.append([uscc(9), 2023, 1])  # registered already
    q = wb.create_sheet("资质")
    q.append(["统一社会信用代码", "资质类型", "有效期起", "有效期止"])
    q.append([uscc(9), "专精特新“小巨人”", "2023-01-01", "2022-01-01"])
    q.append([uscc(9), "zone_star", "2023-01-01", None])
    q.append([uscc(9), "火炬", "2023-01-01", None])
    wb.save(book)
    r = validate(
        read_workbook(book),
        today=TODAY,
        existing_usccs={uscc(9)},
        qualification_types={"zone_star": ("园区之星", "Zone star")},
    )
    rows = r.issues_frame.select("sheet", "row", "code").rows()
    assert ("企业", 2, "duplicate_uscc") in rows and ("企业", 4, "duplicate_uscc") in rows
    assert ("年度数据", 2, "enterprise_invalid") in rows
    assert ("年度数据", 3, "unknown_enterprise") in rows
    assert not [x for x in rows if x[0] == "年度数据" and x[1] == 4]
    inv = r.issues_frame.filter(pl.col("code") == "enterprise_invalid").to_dicts()[0]
    assert inv["message_zh"] == (
        f"第 2 行：企业 {U2} 的企业信息有错误（见「企业」第 3 行），本行不导入"
    )
    assert ("资质", 2, "date_order") in rows and ("资质", 4, "bad_type") in rows
    assert r.qualifications.sort("_row")["type"].to_list() == ["little_giant", "zone_star", None]
    assert r.yearly.filter(pl.col("_valid"))["uscc"].to_list() == [uscc(9)]


def test_combined_sheet_conflicts_and_enterprise_only_rows(tmp_path):
    r = _run(
        tmp_path,
        "统一社会信用代码,企业名称,年度,营业收入\n"
        f"{U1},甲,2022,1\n{U1},甲,2023,2\n{U2},乙,,\n{U1},甲乙,2024,3\n",
    )
    issue = _one(r, "enterprise_conflict")
    assert issue["message_zh"] == "第 5 行「企业名称」= 甲乙 与同一企业第 2 行的值 甲 不一致"
    assert sorted(r.enterprises["uscc"].to_list()) == [U1, U2]
    assert r.yearly.height == 3  # the enterprise-only row carries no yearly data
    assert r.enterprises.filter(pl.col("uscc") == U2)["_valid"].item()


def test_name_required_for_new_enterprises_only(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(f"uscc,registered_on\n{U1},2020-01-01\n{U2},2020-01-01\n", encoding="utf-8")
    wb = read_workbook(path, require_name=False)
    r = validate(wb, today=TODAY, existing_usccs={U1})
    issue = _one(r, "name_required")
    assert (
        issue["row"] == 3 and issue["message_en"] == f"Row 3: the new enterprise {U2} has no name"
    )


def test_negatives_and_outlier_warning(tmp_path):
    rows = "".join(f"{uscc(i)},2023,{100 + i}\n" for i in range(30))
    r = _run(tmp_path, "uscc,year,revenue\n" + rows + f"{uscc(40)},2023,5000000\n")
    warning = _one(r, "outlier")
    assert warning["severity"] == "warning" and warning["row"] == 32
    assert "万元" in warning["message_zh"] and "10,000" in warning["message_en"]
    assert not r.has_errors and r.yearly["_valid"].all()
    r2 = _run(
        tmp_path,
        f"统一社会信用代码,负面类型,发生日期,解除日期\n{U1},经营异常,2023-01-01,2022-01-01\n{U1},坏事,2023-01-01,\n",
    )
    assert r2.issues_frame.select("row", "code").rows() == [(2, "date_order"), (3, "bad_type")]
    assert r2.negatives["type"].to_list() == ["abnormal_operation", None]


def test_custom_field_and_unknown_column(tmp_path):
    cf = custom_field("ai_patents", "人工智能专利数", "AI patents", "int", "件", "items", minimum=0)
    r = _run(
        tmp_path,
        f"uscc,year,人工智能专利数（件）,备注\n{U1},2023,3,x\n{U1},2024,-1,y\n",
        custom_fields=[cf],
    )
    assert r.yearly.sort("_row")["ai_patents"].to_list() == [3, None]
    assert _one(r, "below_minimum")["column"] == "人工智能专利数（件）"
    unknown = _one(r, "unknown_column")
    assert unknown["severity"] == "warning" and unknown["column"] == "备注" and unknown["row"] == 1


def test_full_width_headers_gbk_and_bom(tmp_path):
    text = (
        f"统一社会信用代码,企业名称,年度,营业收入(万元),研发费用［万元］\n{U1},甲公司,2023,10,1\n"
    )
    for enc in ("gbk", "gb18030", "utf-8-sig", "utf-8"):
        path = tmp_path / f"f-{enc}.csv"
        path.write_bytes(text.encode(enc))
        wb = read_workbook(path)
        assert wb.sheets[0].columns["revenue"] == "营业收入(万元)"
        r = validate(wb, today=TODAY)
        assert not r.has_errors, enc
        assert r.enterprises["name"].to_list() == ["甲公司"]
        assert r.yearly["rd_expense"].to_list() == [1.0]
