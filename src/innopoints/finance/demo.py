"""Demo finance data: two products of the demo bank, consents from the first firms, loans in
several states, a risk-compensation pool, IP items with valuations and a pledge."""

from __future__ import annotations

import datetime as dt

from innopoints.engine.credit import DEFAULT_TABLE
from innopoints.enterprises.models import Enterprise
from innopoints.finance import actions
from innopoints.finance.models import LoanProduct, RiskPool
from innopoints.zones.models import Bank, Zone


def _score_latest_year(zone: Zone) -> None:
    """Suggested lines need points: score the zone's latest year with the shipped
    national-18 model when no finished run exists (inline, as a command does)."""
    from django.db.models import Max
    from django.test import override_settings

    from innopoints.enterprises.models import YearlyData
    from innopoints.scoring.actions import (
        do_activate_model_version,
        do_register_shipped_models,
        do_start_scoring_run,
    )
    from innopoints.scoring.models import ModelVersion, ScoringRun

    if ScoringRun.objects.filter(zone=zone, status=ScoringRun.Status.DONE).exists():
        return
    year = YearlyData.objects.filter(enterprise__zone=zone).aggregate(y=Max("year"))["y"]
    if year is None:
        return
    do_register_shipped_models(None, zone)
    version = ModelVersion.objects.filter(zone=zone, model_id="national-18").first()
    if version is None:
        return
    do_activate_model_version(None, zone, year, version)
    with override_settings(JOBS_INLINE=True):
        do_start_scoring_run(None, zone, year)


def _history(zone: Zone, bank, product) -> None:
    """The demo bank's book before the platform: 85 firms, about 2.6亿, 2023–2025, with
    defaults more frequent in the lower bands (the seed zone's published figures)."""
    import random

    from innopoints.finance.actions import add_months
    from innopoints.scoring.models import FirmScore

    rng = random.Random(7)
    scores = list(
        FirmScore.objects.filter(enterprise__zone=zone)
        .order_by("enterprise__uscc")
        .values_list("enterprise__uscc", "band", "total")[40:]
    )
    if not scores:
        return
    risk = {"lead": 0.01, "chase": 0.03, "rise": 0.05, "": 0.12}
    lines = [
        "uscc,product,amount,rate,term_months,disbursed_on,status,settled_on,defaulted_on,"
        "principal_repaid,band,grade,points"
    ]
    chosen = rng.sample(scores, min(85, len(scores)))
    for uscc, band, total in chosen:
        band = band or ""
        day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(0, 900))
        amount = round(rng.uniform(100, 520), 2)
        if rng.random() < risk.get(band, 0.12):
            status, settled, defaulted = "defaulted", "", (day + dt.timedelta(days=200)).isoformat()
            repaid = round(amount * rng.uniform(0, 0.4), 2)
        else:
            status, settled, defaulted, repaid = "repaid", add_months(day, 12).isoformat(), "", ""
        lines.append(
            f"{uscc},{product.code},{amount},{rng.choice([3.65, 3.85, 4.2])},12,{day.isoformat()},"
            f"{status},{settled},{defaulted},{repaid},{band},{band or '*'},{total or ''}"
        )
    actions.do_import_loan_history(None, bank, "\n".join(lines).encode("utf-8"), "demo-book.csv")


def build_finance_demo(zone: Zone, bank_code: str = "ccb-sjz") -> None:
    """Create the demo finance data once (skipped when the bank already has products)."""
    bank = Bank.objects.filter(code=bank_code).first()
    if bank is None or LoanProduct.objects.filter(bank=bank).exists():
        return
    _score_latest_year(zone)
    branch = actions.do_save_branch(None, bank, "gxq", "高新区支行", zone.region_code, zone)
    actions.do_save_branch(None, bank, "yuhua", "裕华路支行", zone.region_code, zone)
    from django.contrib.auth import get_user_model

    officer = get_user_model().objects.filter(username="bank").first()
    if officer is not None:
        actions.do_assign_officer(None, officer, bank, branch, "科技金融客户经理")
    base = {
        "amount_min": 10,
        "term_min_months": 6,
        "term_max_months": 36,
        "rate_min": 3.45,
        "rate_max": 5.5,
        "active": True,
    }
    points = actions.do_save_product(
        None,
        bank,
        {
            **base,
            "code": "jfd",
            "name": "科技积分贷",
            "kind": "points_credit",
            "amount_max": 1000,
            "credit_table": DEFAULT_TABLE,
            "ltv_max": {},
        },
    )
    pledge = actions.do_save_product(
        None,
        bank,
        {
            **base,
            "code": "zscq",
            "name": "知识产权质押贷",
            "kind": "ip_pledge",
            "amount_max": 3000,
            "credit_table": DEFAULT_TABLE,
            "ltv_max": {
                "invention_patent": 0.25,
                "utility_model": 0.15,
                "trademark": 0.5,
                "software_copyright": 0.2,
            },
        },
    )
    _history(zone, bank, points)
    firms = list(Enterprise.objects.filter(zone=zone).order_by("uscc")[:40])
    today = dt.date.today()
    for i, firm in enumerate(firms[:30]):
        actions.do_grant_consent(
            None, firm, bank if i % 2 else None, today, today + dt.timedelta(days=365)
        )
    pool = RiskPool.objects.filter(zone=zone).first() or actions.do_create_risk_pool(
        None,
        zone,
        {"name": "高新区科技信贷风险补偿资金池", "size": 4000, "per_loan_cap": 300, "max_years": 2},
    )
    for i, firm in enumerate(firms[:8]):
        loan = actions.do_apply_loan(None, firm, points, 100 + 50 * i, 12, "研发投入与设备采购")
        if i == 7:
            continue  # still applied
        if i == 6:
            actions.do_decide_loan(None, loan, False, reason="经营数据不足，建议补充后再申请")
            continue
        loan = actions.do_decide_loan(
            None, loan, True, amount=100 + 50 * i, rate=4.2, term_months=12
        )
        loan = actions.do_disburse_loan(None, loan, 100 + 50 * i, today)
        if i < 4:
            actions.do_cover_loan(None, pool, loan)
        if i == 1:
            actions.do_record_repayment(None, loan, today, loan.amount_disbursed, 2)
        if i == 3:
            actions.do_mark_default(None, loan, today)
    for i, firm in enumerate(firms[:5]):
        patent = actions.do_register_ip(
            None,
            firm,
            "invention_patent",
            f"ZL2023100{i:05d}.{i % 10}",
            "一种智能传感装置及其控制方法",
            dt.date(2023, 5, 1),
            "G01D",
            "valid",
        )
        actions.do_add_valuation(
            None, patent, "appraiser", 800 + 100 * i, today, "河北某资产评估公司"
        )
        if i < 2:
            actions.do_register_pledge(
                None, pledge, firm, [patent], f"Y2026990{i:05d}", today, 150 + 20 * i
            )
        elif i == 2:
            actions.do_create_licence_back(
                None,
                firm,
                [patent],
                financier=bank.name,
                bank=bank,
                contract_no="XKHZ-2026-001",
                licence_fee=300,
                paid_on=today - dt.timedelta(days=200),
                fee_rate=5.2,
                term_months=24,
                every_months=3,
            )
