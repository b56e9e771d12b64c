"""Demo data for the zone services, written through the services actions (audited):
the research supply and demand lists (the labelled evaluation set), technology contracts
that reproduce the generated `tech_contract_amount` of the latest year, a few matches,
results under 赋权+转让+约定收益, key projects and assisted-handling requests."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import polars as pl

from innopoints.enterprises.models import Enterprise, YearlyData
from innopoints.services import actions
from innopoints.services.matching import DATA_DIR
from innopoints.services.models import (
    STAGE_ORDER,
    DemandItem,
    HandlingRequest,
    ProcedureType,
    SupplyItem,
)
from innopoints.zones.models import Zone

UNIVERSITIES = [
    "河北工业大学",
    "燕山大学",
    "河北科技大学",
    "石家庄铁道大学",
    "河北医科大学",
    "河北农业大学",
]
OUTSIDE_BUYERS = ["北京中关村某科技有限公司", "天津滨海某新材料有限公司", "雄安某数字科技有限公司"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "勇",
    "艳",
    "杰",
    "军",
    "强",
    "婷",
    "超",
    "鹏",
    "辉",
]
PROCEDURES = [
    ("project-filing", "企业投资项目备案", "Enterprise investment project filing", 5, 1),
    ("planning-permit", "建设工程规划许可证核发", "Construction planning permit", 20, 9),
    ("construction-permit", "建筑工程施工许可证核发", "Construction permit", 15, 5),
    ("fire-design", "特殊建设工程消防设计审查", "Fire protection design review", 15, 7),
    ("pollution-permit", "排污许可证申领", "Pollutant discharge permit", 20, 10),
    ("food-licence", "食品经营许可", "Food business licence", 20, 8),
    (
        "hitech-guidance",
        "高新技术企业认定申报辅导",
        "High-tech enterprise recognition filing",
        20,
        10,
    ),
]
PROJECTS = [
    "年产10GWh动力电池生产线项目",
    "碳化硅功率模块封装测试基地",
    "生物医药创新产业园二期",
    "高端数控机床智能制造基地",
    "智能网联汽车零部件产业园",
    "新型显示材料研发生产中心",
    "北斗应用产业基地",
    "半导体照明芯片扩产项目",
    "创新药物制剂国际化生产基地",
    "工业互联网平台与数据中心",
    "氢能装备制造产业园",
    "高性能复合材料生产线",
    "智能传感器产业化项目",
    "医疗器械产业化基地",
    "光伏组件智能工厂",
    "轨道交通装备检测中心",
    "数字经济产业园",
    "环保新材料产业化项目",
]


def _person(rng: np.random.Generator) -> str:
    return SURNAMES[rng.integers(len(SURNAMES))] + "".join(
        GIVEN[i] for i in rng.integers(len(GIVEN), size=rng.integers(1, 3))
    )


def seed_services(zone: Zone, echo=print, seed: int = 8) -> str:
    """Fill the demo zone's services once (skipped when the supply list exists)."""
    if SupplyItem.objects.filter(zone=zone).exists():
        return "services: already seeded"
    rng = np.random.default_rng(seed)
    firms = pl.DataFrame(
        list(
            Enterprise.objects.filter(zone=zone).values_list("id", "uscc", "name", "industry_code")
        ),
        schema={"id": pl.Int64, "uscc": pl.String, "name": pl.String, "industry_code": pl.String},
        orient="row",
    ).sort("uscc")
    if firms.is_empty():
        return "services: no firms"
    by_id = {e.pk: e for e in Enterprise.objects.filter(zone=zone)}

    # research supply list and enterprise demand list (the evaluation set)
    supply_csv = (DATA_DIR / "supply.csv").read_bytes()
    actions.do_import_supply(None, zone, supply_csv, "院所科研清单.csv")
    with (DATA_DIR / "demands.csv").open(encoding="utf-8") as fh:
        demand_rows = list(csv.DictReader(fh))
    demands = []
    for i, row in enumerate(demand_rows):
        pool = firms.filter(pl.col("industry_code").str.starts_with(row["industry_section"]))
        pool = pool if pool.height else firms
        firm = by_id[firms["id"][0]] if i == 0 else by_id[pool["id"][(i * 7) % pool.height]]
        demands.append(
            actions.do_create_demand(
                None,
                firm,
                problem=row["problem"],
                description=row["description"],
                field=row["field"],
                budget=float(rng.integers(20, 500)),
                deadline=dt.date(2027, 6, 30),
            )
        )

    # contracts reproducing the latest year's generated tech_contract_amount
    year = (
        YearlyData.objects.filter(enterprise__zone=zone)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )
    amounts = pl.DataFrame(
        list(
            YearlyData.objects.filter(
                enterprise__zone=zone, year=year, tech_contract_amount__gt=0
            ).values_list("enterprise__uscc", "enterprise__name", "tech_contract_amount")
        ),
        schema={"uscc": pl.String, "name": pl.String, "amount": pl.Float64},
        orient="row",
    ).sort("uscc")
    types = list(actions.CONTRACT_TYPE_ZH.values())
    rows = [[c.zh for c in actions.CONTRACT_COLUMNS]]
    seq = 0
    for uscc, name, amount in amounts.iter_rows():
        cents = int(round(amount * 100))
        parts = int(rng.integers(1, 4)) if cents >= 300 else 1
        cuts = (
            sorted(rng.choice(np.arange(1, cents), size=parts - 1, replace=False).tolist())
            if parts > 1
            else []
        )
        pieces = [b - a for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]
        for piece in pieces:
            seq += 1
            day = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 360)))
            buyer = (UNIVERSITIES + OUTSIDE_BUYERS)[
                rng.integers(len(UNIVERSITIES) + len(OUTSIDE_BUYERS))
            ]
            sells = rng.random() < 0.7
            rows.append(
                [
                    f"{year}{zone.region_code}{seq:06d}",
                    day.isoformat(),
                    f"{name[:12]}{['技术开发', '技术服务', '技术咨询', '技术转让'][seq % 4]}项目",
                    types[seq % len(types)],
                    name if sells else buyer,
                    uscc if sells else "",
                    buyer if sells else name,
                    "" if sells else uscc,
                    f"{piece / 100:.2f}",
                ]
            )
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    outcome = actions.do_import_contracts(
        None, zone, buf.getvalue().encode("utf-8"), "技术合同登记.csv"
    )
    echo(f"services: {outcome.created} contracts, {len(demands)} demands")

    # a few matches: interest from both sides, two of them contracted
    supply = {s.code: s for s in SupplyItem.objects.filter(zone=zone)}
    for i, (demand, row) in enumerate(zip(demands[:6], demand_rows[:6], strict=True)):
        item = supply[row["relevant"].split(",")[0]]
        actions.do_express_interest(None, demand, item, "firm")
        match = actions.do_express_interest(None, demand, item, "owner")
        if i < 2:
            actions.do_contract_match(
                None,
                match,
                registration_no=f"{year}{zone.region_code}9{i:05d}",
                registered_on=dt.date(year, 11, 2 + i),
                amount=float(rng.integers(30, 300)),
                type="development",
            )

    demo_firm = by_id[firms["id"][0]]  # the demo enterprise user's firm (first by USCC)
    _results(zone, rng, by_id, firms, demo_firm)
    _projects(zone, rng, by_id, firms, demo_firm)
    _handling(zone, rng, by_id, firms, demo_firm)
    return (
        f"services: {SupplyItem.objects.filter(zone=zone).count()} supply items, "
        f"{DemandItem.objects.filter(zone=zone).count()} demands, "
        f"{HandlingRequest.objects.filter(zone=zone).count()} handling requests, "
        f"{ProcedureType.objects.filter(zone=zone).count()} procedures"
    )


# Seed-zone figures the demo reproduces (domain spec §4–§5): 40+ results converted, 80 %
# inside the zone; 123 key projects, 389.8亿 total, 84.3亿 planned this year; 帮代办 time
# limits cut by about 55 % against the statutory limits.
SEED_RESULTS, SEED_CONVERTED, SEED_IN_ZONE_SHARE = 50, 42, 0.8
SEED_PROJECTS, SEED_TOTAL, SEED_PLANNED = 123, 3_898_000.0, 843_000.0  # 万元


def _scaled(rng: np.random.Generator, n: int, total: float, sigma: float) -> list[float]:
    """n positive amounts (2 decimals) from a lognormal, summing exactly to `total`."""
    raw = rng.lognormal(0, sigma, n)
    cents = np.floor(raw / raw.sum() * total * 100).astype(np.int64)
    cents[np.argmax(cents)] += int(round(total * 100)) - int(cents.sum())
    return [float(c) / 100 for c in cents]


def _results(zone, rng, by_id, firms, demo_firm) -> None:
    items = list(SupplyItem.objects.filter(zone=zone).order_by("id"))
    ids = firms["id"].to_list()
    n_in_zone = round(SEED_CONVERTED * SEED_IN_ZONE_SHARE)
    for i in range(SEED_RESULTS):
        item = items[i % len(items)]
        uni = item.owner if "大学" in item.owner else UNIVERSITIES[i % len(UNIVERSITIES)]
        result = actions.do_create_result(
            None,
            zone,
            title=item.title if i < len(items) else f"{item.title}（二期）",
            university=uni,
            team="、".join(_person(rng) for _ in range(int(rng.integers(2, 6)))),
            ip_numbers="；".join(
                f"ZL20{int(rng.integers(19, 25))}1{int(rng.integers(10**7, 10**8))}.{int(rng.integers(10))}"
                for _ in range(int(rng.integers(1, 3)))
            ),
            field=item.field,
        )
        if i >= SEED_CONVERTED + 4:
            continue  # registered only
        base = dt.date(2022 + i % 4, 1 + i % 12, 10)
        team = 80.0 if i % 7 else 70.0  # shares per agreement, 80/20 by default
        actions.do_grant_shares(
            None,
            result,
            team_share=team,
            university_share=100 - team,
            agreement=f"冀{uni[:4]}赋〔{base.year}〕{i + 1}号",
            granted_on=base,
        )
        if i >= SEED_CONVERTED + 2:
            continue
        actions.do_transfer_share(
            None,
            result,
            agreement=f"技术转让协议〔{base.year}〕{i + 1}号",
            transferred_on=base + dt.timedelta(days=45),
            price=float(rng.integers(5, 80)),
        )
        actions.do_agree_income(
            None,
            result,
            ratio=float([5, 8, 10, 15][i % 4]),
            basis=["revenue", "profit", "equity"][i % 3],
            term_years=int(rng.integers(5, 11)),
            income_from=base + dt.timedelta(days=60),
        )
        if i >= SEED_CONVERTED:
            continue
        in_zone = i < n_in_zone
        firm = demo_firm if i == 0 else by_id[ids[(i * 41) % len(ids)]]
        conversion = actions.do_convert_result(
            None,
            result,
            enterprise=firm if in_zone else None,
            firm_name="" if in_zone else OUTSIDE_BUYERS[i % len(OUTSIDE_BUYERS)],
            mode=["licence", "transfer", "equity"][i % 3],
            converted_on=base + dt.timedelta(days=90),
            amount=float(rng.integers(50, 2000)),
        )
        start = (base + dt.timedelta(days=90)).year
        for y in range(start, 2026):
            actions.do_record_income(
                None, conversion, year=y, quarter=0, basis_amount=float(rng.integers(100, 5000))
            )
        for q in (1, 2, 3):
            if start <= 2026:
                actions.do_record_income(
                    None,
                    conversion,
                    year=2026,
                    quarter=q,
                    basis_amount=float(rng.integers(30, 1500)),
                )


def _projects(zone, rng, by_id, firms, demo_firm) -> None:
    ids = firms["id"].to_list()
    totals = _scaled(rng, SEED_PROJECTS, SEED_TOTAL, 0.9)
    shares = rng.uniform(0.1, 0.4, SEED_PROJECTS) * np.array(totals)
    planned = list(np.round(shares / shares.sum() * SEED_PLANNED, 2))
    planned[int(np.argmax(planned))] += round(SEED_PLANNED - float(np.sum(planned)), 2)
    stages = [
        "signed",
        "groundbreaking",
        "construction",
        "construction",
        "construction",
        "completed",
        "production",
    ]
    products = [
        "智能制造",
        "新材料",
        "生物医药",
        "电子信息",
        "新能源",
        "高端装备",
        "数字经济",
        "节能环保",
    ]
    for i in range(SEED_PROJECTS):
        firm = demo_firm if i == 0 else by_id[ids[(i * 37) % len(ids)]]
        name = (
            PROJECTS[i]
            if i < len(PROJECTS)
            else f"{firm.name[:8]}{products[i % len(products)]}产业化项目"
        )
        stage = stages[i % len(stages)]
        signed = dt.date(2024 + (i % 3 == 0), 1 + i % 12, 1 + i % 27)
        due = {s: signed + dt.timedelta(days=120 * (k + 1)) for k, s in enumerate(STAGE_ORDER[1:])}
        if i % 6:  # most projects keep their plan: stages still ahead fall due after today
            ahead = STAGE_ORDER[STAGE_ORDER.index(stage) + 1 :]
            for k, s in enumerate(ahead):
                due[s] = max(due[s], dt.date(2026, 12, 15) + dt.timedelta(days=150 * k))
        project = actions.do_create_project(
            None,
            zone,
            firm,
            name=name,
            total_investment=totals[i],
            planned_this_year=min(planned[i], totals[i]),
            plan_year=2026,
            stage="signed",
            signed_on=signed,
            milestones=due,
        )
        for k, s in enumerate(STAGE_ORDER[1:]):
            if STAGE_ORDER.index(stage) >= k + 1:
                late = int(rng.integers(-20, 60))
                actions.do_set_project_stage(
                    None, project, s, min(due[s] + dt.timedelta(days=late), dt.date(2026, 11, 30))
                )
        if stage in ("signed", "production"):
            continue
        pace = float(rng.uniform(0.55, 1.15))  # some projects fall behind their plan
        for m in range(1, 12):
            actions.do_record_investment(
                None,
                project,
                dt.date(2026, m, 1),
                round(planned[i] / 12 * pace * float(rng.uniform(0.6, 1.4)), 2),
            )


def _handling(zone, rng, by_id, firms, demo_firm) -> None:
    from innopoints.standard.workdays import add_working_days

    ids = firms["id"].to_list()
    procs = [
        actions.do_create_procedure(
            None, zone, code=c, name_zh=zh, name_en=en, statutory_days=s, promised_days=p
        )
        for c, zh, en, s, p in PROCEDURES
    ]
    for i in range(160):
        proc = procs[i % len(procs)]
        firm = demo_firm if i % 40 == 0 else by_id[ids[(i * 13) % len(ids)]]
        submitted = dt.date(2026, 1, 5) + dt.timedelta(days=int(i * 2.05))
        req = actions.do_submit_request(
            None,
            firm,
            proc,
            description=f"请协助办理{proc.name_zh}，材料已按清单准备。",
            documents="营业执照副本\n申请表\n法定代表人身份证明",
            submitted_on=submitted,
        )
        if i % 53 == 52:
            actions.do_return_request(None, req, "材料不全：缺少项目备案证明")
            continue
        if submitted > dt.date(2026, 11, 20):
            continue
        accepted = submitted + dt.timedelta(days=int(rng.integers(0, 2)))
        actions.do_accept_request(None, req, accepted)
        if submitted > dt.date(2026, 10, 31):
            continue
        took = max(1, int(round(proc.statutory_days * float(rng.uniform(0.25, 0.65)))))
        actions.do_complete_request(None, req, add_working_days(accepted, took))
