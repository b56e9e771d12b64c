"""Results conversion, matching, key projects and assisted handling through their actions."""

from __future__ import annotations

import datetime as dt

import pytest

from innopoints.audit.models import AuditEvent
from innopoints.services import actions, stats
from innopoints.services.matching import Matcher, SupplyDoc, highlight, load_eval_set
from innopoints.services.models import (
    Conversion,
    IncomeEntry,
    KeyProject,
    Match,
    ProjectInvestment,
    ProjectMilestone,
)
from tests.conftest import uscc

pytestmark = pytest.mark.django_db


def test_result_three_steps_conversion_and_ledger(users, zone, firms):
    admin = users["admin"]
    r = actions.do_create_result(
        admin,
        zone,
        title="硅碳负极",
        university="河北工业大学",
        team="张伟、李娜",
        ip_numbers="ZL202310123456.7",
    )
    with pytest.raises(actions.ServiceError) as err:
        actions.do_grant_shares(
            admin,
            r,
            team_share=70,
            university_share=20,
            agreement="A",
            granted_on=dt.date(2024, 1, 5),
        )
    assert "100%" in err.value.zh and "sum to 100%" in err.value.en
    with pytest.raises(actions.ServiceError):  # steps in order
        actions.do_transfer_share(
            admin, r, agreement="T", transferred_on=dt.date(2024, 2, 1), price=10
        )
    actions.do_grant_shares(admin, r, agreement="赋权协议1号", granted_on=dt.date(2024, 1, 5))
    assert (r.team_share, r.university_share) == (80, 20)
    actions.do_transfer_share(
        admin, r, agreement="转让协议1号", transferred_on=dt.date(2024, 2, 1), price=12.5
    )
    actions.do_agree_income(
        admin, r, ratio=10, basis="revenue", term_years=3, income_from=dt.date(2024, 3, 1)
    )
    conv = actions.do_convert_result(
        admin,
        r,
        enterprise=firms[uscc(1)],
        mode="licence",
        converted_on=dt.date(2024, 4, 1),
        amount=300,
    )
    assert conv.in_zone and r.status == "converted"
    actions.do_record_income(admin, conv, year=2024, quarter=0, basis_amount=1000)
    actions.do_record_income(admin, conv, year=2025, quarter=2, basis_amount=333.33)
    with pytest.raises(actions.ServiceError, match="期限"):
        actions.do_record_income(admin, conv, year=2027, basis_amount=1)
    with pytest.raises(actions.ServiceError, match="已登记"):
        actions.do_record_income(admin, conv, year=2024, quarter=0, basis_amount=5)
    ledger = stats.ledger(r)
    assert [e["university_amount"] for e in ledger["entries"]] == [100.0, 33.33]
    assert ledger["basis_total"] == 1333.33 and ledger["university_total"] == 133.33
    outside = actions.do_create_result(admin, zone, title="B", university="燕山大学", team="王强")
    actions.do_grant_shares(admin, outside, agreement="a", granted_on=dt.date(2024, 1, 1))
    actions.do_transfer_share(
        admin, outside, agreement="b", transferred_on=dt.date(2024, 1, 2), price=0
    )
    actions.do_agree_income(
        admin, outside, ratio=5, basis="profit", term_years=2, income_from=dt.date(2024, 1, 3)
    )
    actions.do_convert_result(
        admin, outside, firm_name="外地公司", mode="equity", converted_on=dt.date(2024, 5, 1)
    )
    results = type(r).objects.filter(zone=zone)
    s = stats.conversion_stats(results, Conversion.objects.all(), IncomeEntry.objects.all())
    assert s["converted"] == 2 and s["converted_in_zone"] == 1 and s["share_in_zone"] == 0.5
    assert s["income_by_university_year"][0] == {
        "university": "河北工业大学",
        "year": 2024,
        "income": 1000.0,
        "university_amount": 100.0,
    }
    assert AuditEvent.objects.filter(action__startswith="result.").count() >= 10


def test_matching_ranks_highlights_and_turns_a_match_into_a_contract(users, zone, firms):
    admin, firm_user = users["admin"], users["enterprise"]
    good = actions.do_create_supply(
        admin,
        zone,
        title="工业产品表面缺陷视觉检测系统",
        field="electronics",
        keywords="机器视觉、缺陷检测",
        description="识别划痕、凹坑",
        owner="河北工业大学",
        industries="C",
    )
    actions.do_create_supply(
        admin,
        zone,
        title="畜禽粪污有机肥发酵",
        field="environment",
        keywords="有机肥、好氧发酵",
        owner="河北农业大学",
    )
    demand = actions.do_create_demand(
        firm_user,
        firms[uscc(1)],
        problem="玻璃盖板划痕检测",
        description="希望用机器视觉替代人工目检",
    )
    from innopoints.services.matchindex import rank_for_demand

    ranked = rank_for_demand(demand)
    assert ranked[0].id == good.pk and "机器视觉" in ranked[0].terms
    assert len(ranked) == 1  # the unrelated item shares no word
    assert "<mark>机器视觉</mark>" in highlight("基于机器视觉<b>", ranked[0].terms)
    assert "&lt;b&gt;" in highlight("基于机器视觉<b>", ranked[0].terms)
    m = actions.do_express_interest(firm_user, demand, good, "firm")
    assert m.status == Match.Status.PROPOSED and m.terms
    with pytest.raises(actions.ServiceError):
        actions.do_contract_match(
            admin, m, registration_no="M1", registered_on=dt.date(2024, 6, 1), amount=80
        )
    m = actions.do_express_interest(admin, demand, good, "owner")
    assert m.status == Match.Status.MATCHED
    contract = actions.do_contract_match(
        admin, m, registration_no="M1", registered_on=dt.date(2024, 6, 1), amount=80
    )
    assert contract.buyer_id == firms[uscc(1)].pk and contract.seller_name == "河北工业大学"
    from innopoints.enterprises.models import YearlyData

    assert YearlyData.objects.get(enterprise=firms[uscc(1)], year=2024).tech_contract_amount == 80.0


def test_bm25_beats_keyword_overlap_on_the_labelled_set():
    supply, demands = load_eval_set()
    assert len(demands) >= 50
    m = Matcher(supply)
    hits_bm25 = hits_overlap = 0
    from innopoints.services.matching import keyword_overlap_rank

    for d in demands:
        q = d["problem"] + " " + d["description"]
        hits_bm25 += bool({c.id for c in m.rank(q, k=10)} & d["relevant"])
        hits_overlap += bool({c.id for c in keyword_overlap_rank(q, supply, 10)} & d["relevant"])
    assert hits_bm25 > hits_overlap


def test_field_and_industry_filters():
    docs = [
        SupplyDoc(1, "光伏功率预测", "光伏", field="energy", industries="D"),
        SupplyDoc(2, "光伏玻璃镀膜", "光伏", field="materials", industries="C"),
    ]
    m = Matcher(docs)
    assert {c.id for c in m.rank("光伏")} == {1, 2}
    assert [c.id for c in m.rank("光伏", field="materials")] == [2]
    assert [c.id for c in m.rank("光伏", section="D")] == [1]


def test_project_progress_overdue_and_stage(users, zone, firms):
    admin = users["admin"]
    p = actions.do_create_project(
        admin,
        zone,
        firms[uscc(1)],
        name="电池产线",
        total_investment=12000,
        planned_this_year=1200,
        plan_year=2026,
        stage="signed",
        signed_on=dt.date(2026, 1, 5),
        milestones={"groundbreaking": dt.date(2026, 3, 1), "completed": dt.date(2027, 6, 1)},
    )
    actions.do_record_investment(admin, p, dt.date(2026, 1, 20), 100)
    actions.do_record_investment(admin, p, dt.date(2026, 2, 1), 200)
    actions.do_record_investment(admin, p, dt.date(2026, 2, 1), 250)  # replaces February
    with pytest.raises(actions.ServiceError):
        actions.do_create_project(
            admin,
            zone,
            firms[uscc(2)],
            name="x",
            total_investment=10,
            planned_this_year=20,
            plan_year=2026,
            signed_on=dt.date(2026, 1, 1),
        )
    qs = KeyProject.objects.filter(zone=zone)
    table, totals, monthly = stats.project_table(
        qs, ProjectInvestment.objects.all(), ProjectMilestone.objects.all(), dt.date(2026, 6, 30)
    )
    row = table.row(0, named=True)
    assert row["actual_this_year"] == 350 and row["progress"] == pytest.approx(350 / 1200)
    assert row["progress_vs_schedule"] == pytest.approx(350 / 600)
    assert row["overdue"] == 1 and totals["overdue_projects"] == 1
    assert totals["total_investment"] == 12000 and monthly["amount"].to_list() == [100, 250]
    actions.do_set_project_stage(admin, p, "groundbreaking", dt.date(2026, 7, 1))
    _t, totals, _m = stats.project_table(
        qs, ProjectInvestment.objects.all(), ProjectMilestone.objects.all(), dt.date(2026, 7, 2)
    )
    assert totals["overdue_projects"] == 0
    with pytest.raises(actions.ServiceError, match="向前"):
        actions.do_set_project_stage(admin, p, "signed")


def test_handling_deadlines_in_working_days_and_time_saved(users, zone, firms):
    admin = users["admin"]
    proc = actions.do_create_procedure(
        admin,
        zone,
        code="permit",
        name_zh="施工许可",
        name_en="Permit",
        statutory_days=15,
        promised_days=5,
    )
    req = actions.do_submit_request(
        users["enterprise"],
        firms[uscc(1)],
        proc,
        description="请协助办理",
        submitted_on=dt.date(2026, 9, 28),
    )
    actions.do_accept_request(admin, req, dt.date(2026, 9, 29))
    # National Day holiday 1–7 October 2026, Saturday 10 October worked: 30 Sept, 8, 9, 10, 12 Oct
    assert req.promised_deadline == dt.date(2026, 10, 12)
    actions.do_complete_request(admin, req, dt.date(2026, 10, 9))
    assert req.working_days == 3 and req.official == admin
    with pytest.raises(actions.ServiceError):
        actions.do_complete_request(admin, req, dt.date(2026, 10, 14))
    late = actions.do_submit_request(
        users["enterprise"],
        firms[uscc(1)],
        proc,
        description="x",
        submitted_on=dt.date(2026, 12, 1),
    )
    with pytest.raises(actions.ServiceError) as err:
        actions.do_accept_request(admin, late, dt.date(2026, 12, 28))
    assert "2027" in err.value.zh and "2027" in err.value.en
    s = stats.handling_stats(type(req).objects.filter(zone=zone), dt.date(2026, 12, 1))
    assert s["handled"] == 1 and s["avg_days"] == 3 and s["time_saved"] == pytest.approx(1 - 3 / 15)
    assert s["on_time"] == 1


def test_pages_render_the_workflow(client_for, users, zone, firms):
    admin = users["admin"]
    r = actions.do_create_result(
        admin, zone, title="成果甲", university="河北工业大学", team="张伟"
    )
    c = client_for("admin")
    resp = c.post(
        f"/services/results/{r.pk}/",
        {
            "step": "grant",
            "team_share": "70",
            "university_share": "20",
            "agreement": "a",
            "on": "2024-01-01",
        },
        follow=True,
    )
    assert "100%" in resp.content.decode()
    c.post(
        f"/services/results/{r.pk}/",
        {
            "step": "grant",
            "team_share": "80",
            "university_share": "20",
            "agreement": "a",
            "on": "2024-01-01",
        },
    )
    r.refresh_from_db()
    assert r.status == "granted"
    assert (
        client_for("supervisor")
        .post(f"/services/results/{r.pk}/", {"step": "transfer"})
        .status_code
        == 403
    )
    page = client_for("admin").get("/services/projects/").content.decode()
    assert 'data-chart="stages"' in page and "echarts.min.js" in page


def test_result_page_links_the_ip_numbers_in_the_registry(client_for, users, zone, firms):
    from innopoints.finance import actions as finance

    own = firms[uscc(1)]
    foreign = firms[uscc(9)]  # another zone's firm: its item must not show
    finance.do_register_ip(
        users["enterprise"], own, "invention_patent", "ZL202310123456.7", "硅碳负极材料制备方法"
    )
    finance.do_register_ip(
        users["other_admin"], foreign, "invention_patent", "ZL202099999999.9", "外区专利"
    )
    r = actions.do_create_result(
        users["admin"],
        zone,
        title="硅碳负极",
        university="河北工业大学",
        team="张伟",
        ip_numbers="ZL202310123456.7；ZL202099999999.9、ZL000",
    )
    page = client_for("admin").get(f"/services/results/{r.pk}/").content.decode()
    assert 'id="result-ip-items"' in page and "硅碳负极材料制备方法" in page
    assert "外区专利" not in page
    bare = actions.do_create_result(
        users["admin"], zone, title="无专利", university="河北工业大学", team="李娜"
    )
    assert (
        'id="result-ip-items"'
        not in client_for("admin").get(f"/services/results/{bare.pk}/").content.decode()
    )
