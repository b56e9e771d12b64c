"""Technology contracts: registry, import with bilingual row errors, and the totals that
feed `tech_contract_amount` through the audited import path."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook

from innopoints.audit.models import AuditEvent
from innopoints.enterprises.models import YearlyData
from innopoints.services.actions import (
    ServiceError,
    do_create_contract,
    do_delete_contract,
    do_import_contracts,
    do_update_contract,
)
from innopoints.services.models import TechContract
from tests.conftest import uscc

pytestmark = pytest.mark.django_db


def contract(
    zone, actor, no="2024130001000001", amount=120.5, seller=1, buyer=None, day=(2024, 5, 6)
):
    return do_create_contract(
        actor,
        zone,
        registration_no=no,
        registered_on=dt.date(*day),
        title="工业视觉检测算法开发",
        type="development",
        seller_name="测试科技有限公司1",
        seller_uscc=uscc(seller) if seller else "",
        buyer_name="河北工业大学" if buyer is None else "测试科技有限公司2",
        buyer_uscc="" if buyer is None else uscc(buyer),
        amount=amount,
    )


def amount_of(n, year):
    return YearlyData.objects.get(enterprise__uscc=uscc(n), year=year).tech_contract_amount


def test_contract_totals_feed_yearly_data_and_bump_the_version(users, zone):
    admin = users["admin"]
    version = type(zone).objects.get(pk=zone.pk).data_version
    c = contract(zone, admin)
    assert c.seller.uscc == uscc(1) and c.buyer is None
    assert amount_of(1, 2024) == 120.5
    assert amount_of(2, 2024) == 0.0  # the registry is the source for 2024
    assert amount_of(1, 2023) is None  # years without contracts are left alone
    assert type(zone).objects.get(pk=zone.pk).data_version > version
    row = YearlyData.objects.get(enterprise__uscc=uscc(1), year=2024)
    change = AuditEvent.objects.get(action="yearly.change", object_id=str(row.pk))
    assert change.changes["tech_contract_amount"] == [None, 120.5]
    # a contract between two zone firms counts for both parties
    contract(zone, admin, no="2024130001000002", amount=30, seller=1, buyer=2)
    assert amount_of(1, 2024) == 150.5 and amount_of(2, 2024) == 30.0


def test_update_moves_amounts_between_years_and_delete_removes_them(users, zone):
    admin = users["admin"]
    c = contract(zone, admin)
    do_update_contract(admin, c, registered_on=dt.date(2023, 12, 1), amount=99)
    assert amount_of(1, 2024) == 0.0 and amount_of(1, 2023) == 99.0
    assert AuditEvent.objects.filter(action="contract.change").count() == 1
    do_delete_contract(admin, c)
    assert amount_of(1, 2023) == 0.0
    assert not TechContract.objects.exists()


def test_duplicate_registration_number_and_bad_values_are_refused(users, zone):
    admin = users["admin"]
    contract(zone, admin)
    with pytest.raises(ServiceError, match="已存在"):
        contract(zone, admin)
    with pytest.raises(ServiceError) as err:
        contract(zone, admin, no="X2", amount=-1)
    assert "超出范围" in err.value.zh and "out of range" in err.value.en


def xlsx(rows):
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEAD = [
    "登记编号",
    "登记日期",
    "合同名称",
    "合同类型",
    "卖方名称",
    "卖方统一社会信用代码",
    "买方名称",
    "买方统一社会信用代码",
    "成交金额（万元）",
]


def test_import_reports_bilingual_row_errors_and_writes_nothing(users, zone):
    data = xlsx(
        [
            HEAD,
            [
                "R1",
                "2024-03-01",
                "合同一",
                "技术开发",
                "测试科技有限公司1",
                uscc(1),
                "某大学",
                "",
                "10",
            ],
            [
                "R2",
                "2024-13-01",
                "合同二",
                "技术租赁",
                "测试科技有限公司1",
                "123",
                "某大学",
                "",
                "abc",
            ],
            [
                "R1",
                "2024-03-02",
                "合同三",
                "技术服务",
                "测试科技有限公司2",
                uscc(2),
                "某大学",
                "",
                "5",
            ],
        ]
    )
    outcome = do_import_contracts(users["admin"], zone, data, "contracts.xlsx")
    assert not outcome.written and not TechContract.objects.exists()
    by_col = {(i["row"], i["column"]) for i in outcome.issues}
    assert {
        (3, "登记日期"),
        (3, "合同类型"),
        (3, "卖方统一社会信用代码"),
        (3, "成交金额（万元）"),
    } <= by_col
    assert (4, "登记编号") in by_col  # duplicate within the file
    bad = next(i for i in outcome.issues if i["column"] == "成交金额（万元）")
    assert "第 3 行" in bad["zh"] and "Row 3" in bad["en"] and bad["value"] == "abc"


def test_import_creates_updates_and_syncs(users, zone):
    admin = users["admin"]
    rows = [
        HEAD,
        [
            "R1",
            "2024-03-01",
            "合同一",
            "技术开发",
            "测试科技有限公司1",
            uscc(1),
            "某大学",
            "",
            "10",
        ],
        [
            "R2",
            "2024/04/01",
            "合同二",
            "transfer",
            "某研究院",
            "",
            "测试科技有限公司3",
            uscc(3),
            "1,200.5",
        ],
    ]
    outcome = do_import_contracts(admin, zone, xlsx(rows), "c.xlsx")
    assert outcome.created == 2 and outcome.written
    assert amount_of(1, 2024) == 10.0 and amount_of(3, 2024) == 1200.5
    rows[1][-1] = "12"
    again = do_import_contracts(admin, zone, xlsx(rows), "c.xlsx")
    assert again.created == 0 and again.changed == 1 and again.unchanged == 1
    assert amount_of(1, 2024) == 12.0
    assert AuditEvent.objects.filter(action="contract.import").count() == 2


def test_import_refuses_a_file_that_is_not_a_spreadsheet(users, zone):
    outcome = do_import_contracts(users["admin"], zone, b"\x89PNG\r\n\x1a\n....", "x.xlsx")
    assert outcome.file_error and "xlsx" in outcome.file_error["en"]
