"""Import/export round trips of the other registries, with bilingual row errors."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from innopoints.services import actions
from innopoints.services.models import ProcedureType, ResearchResult, SupplyItem
from tests.conftest import uscc

pytestmark = pytest.mark.django_db


def xlsx(rows) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_procedures_import_checks_limits_and_round_trips(client_for, users, zone):
    admin = users["admin"]
    head = ["编码", "事项名称", "英文名称", "法定时限（工作日）", "承诺时限（工作日）"]
    bad = actions.do_import_procedures(
        admin,
        zone,
        xlsx([head, ["a", "备案", "Filing", "5", "7"], ["b", "许可", "", "x", "3"]]),
        "p.xlsx",
    )
    assert not bad.written and not ProcedureType.objects.exists()
    assert any("超过法定时限" in i["zh"] and "Row 2" in i["en"] for i in bad.issues)
    assert any(i["row"] == 3 and i["column"] == "法定时限（工作日）" for i in bad.issues)
    good = actions.do_import_procedures(
        admin, zone, xlsx([head, ["a", "备案", "Filing", "5", "1"]]), "p.xlsx"
    )
    assert good.created == 1
    exported = client_for("admin").get("/services/handling/?export=procedures")
    again = actions.do_import_procedures(admin, zone, exported.content, "procedures.xlsx")
    assert again.created == 0 and again.unchanged == 1


def test_results_import_creates_then_updates(users, zone):
    admin = users["admin"]
    head = ["成果名称", "高校或院所", "团队成员", "知识产权编号", "技术领域"]
    out = actions.do_import_results(
        admin,
        zone,
        xlsx([head, ["硅碳负极", "河北工业大学", "张伟、李娜", "ZL1", "新材料"]]),
        "r.xlsx",
    )
    assert out.created == 1 and ResearchResult.objects.get().field == "materials"
    out = actions.do_import_results(
        admin,
        zone,
        xlsx([head, ["硅碳负极", "河北工业大学", "张伟、李娜、王强", "ZL1", "新材料"]]),
        "r.xlsx",
    )
    assert out.changed == 1 and ResearchResult.objects.get().team.endswith("王强")
    bad = actions.do_import_results(
        admin, zone, xlsx([head, ["", "河北工业大学", "张伟", "", "太空"]]), "r.xlsx"
    )
    assert {i["column"] for i in bad.issues} == {"成果名称", "技术领域"}


def test_supply_export_is_an_import_template(client_for, users, zone):
    from innopoints.services.matching import DATA_DIR

    actions.do_import_supply(
        users["admin"], zone, (DATA_DIR / "supply.csv").read_bytes(), "supply.csv"
    )
    assert SupplyItem.objects.count() == 68
    exported = client_for("admin").get("/services/supply/?export=xlsx")
    sheet = load_workbook(io.BytesIO(exported.content)).active
    assert [c.value for c in sheet[1]][:3] == ["编号", "成果名称", "技术领域"]
    again = actions.do_import_supply(users["admin"], zone, exported.content, "supply.xlsx")
    assert again.created == 0 and again.unchanged == 68 and not again.issues


def test_demand_import_refuses_firms_of_other_zones_and_bad_values(users, zone, firms):
    head = ["统一社会信用代码", "需求名称", "需求描述", "技术领域", "预算（万元）", "期望完成日期"]
    out = actions.do_import_demands(
        users["admin"], zone, xlsx([head, [uscc(9), "需求", "", "", "10", "2027-01-01"]]), "d.xlsx"
    )
    assert (
        not out.written
        and "不在本园区" in out.issues[0]["zh"]
        and "not in this zone" in out.issues[0]["en"]
    )
    out = actions.do_import_demands(
        users["admin"], zone, xlsx([head, [uscc(1), "需求", "", "", "-5", "2027-13-01"]]), "d.xlsx"
    )
    assert {i["column"] for i in out.issues} == {"预算（万元）", "期望完成日期"}
    out = actions.do_import_demands(
        users["admin"],
        zone,
        xlsx([head, [uscc(1), "需求", "", "电子信息", "5", "2027-03-01"]]),
        "d.xlsx",
    )
    assert out.created == 1


def test_monthly_investment_import_and_round_trip(client_for, users, zone, firms):
    import datetime as dt

    from django.core.files.uploadedfile import SimpleUploadedFile

    from innopoints.services.models import ProjectInvestment

    admin = users["admin"]
    actions.do_create_project(
        admin,
        zone,
        firms[uscc(1)],
        name="电池产线",
        total_investment=1000,
        planned_this_year=120,
        plan_year=2026,
        signed_on=dt.date(2026, 1, 2),
    )
    head = ["统一社会信用代码", "项目名称", "月份", "实际投资（万元）"]
    bad = actions.do_import_investments(
        admin,
        zone,
        xlsx(
            [
                head,
                [uscc(1), "不存在的项目", "2026-03", "5"],
                [uscc(1), "电池产线", "2026-04", "5"],
                [uscc(1), "电池产线", "2026年4月", "6"],
            ]
        ),
        "m.xlsx",
    )
    assert not bad.written
    assert any("没有名为「不存在的项目」" in i["zh"] for i in bad.issues)
    assert any(i["row"] == 4 and "重复" in i["zh"] for i in bad.issues)
    ok = actions.do_import_investments(
        admin,
        zone,
        xlsx(
            [head, [uscc(1), "电池产线", "2026-03", "10"], [uscc(1), "电池产线", "2026/4", "12.5"]]
        ),
        "m.xlsx",
    )
    assert ok.created == 2
    assert sorted(ProjectInvestment.objects.values_list("month", "amount")) == [
        (dt.date(2026, 3, 1), 10.0),
        (dt.date(2026, 4, 1), 12.5),
    ]
    exported = client_for("admin").get("/services/projects/?export=investments")
    again = actions.do_import_investments(admin, zone, exported.content, "m.xlsx")
    assert again.unchanged == 2 and not again.issues
    page = client_for("admin").post(
        "/services/projects/",
        {
            "kind": "investments",
            "file": SimpleUploadedFile(
                "m.xlsx", xlsx([head, [uscc(1), "电池产线", "2026-03", "11"]])
            ),
        },
        follow=True,
    )
    assert "1 changed" in page.content.decode() or "变更 1 条" in page.content.decode()
