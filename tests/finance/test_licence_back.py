"""Licence-back financing: schedule, payments, arrears, access."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from innopoints.finance import access, actions
from tests.conftest import uscc


@pytest.fixture
def patent(users, firms):
    return actions.do_register_ip(
        users["enterprise"], firms[uscc(1)], "invention_patent", "ZL1", "一种方法"
    )


def test_schedule_totals_and_arrears(users, firms, bank, patent):
    firm = firms[uscc(1)]
    start = dt.date(2025, 1, 15)
    licence = actions.do_create_licence_back(
        users["admin"],
        firm,
        [patent],
        financier="某融资租赁公司",
        bank=None,
        contract_no="LB-1",
        licence_fee=100,
        paid_on=start,
        fee_rate=6,
        term_months=12,
        every_months=3,
    )
    rows = list(licence.instalments.all())
    assert [r.due_on for r in rows] == [
        dt.date(2025, 4, 15),
        dt.date(2025, 7, 15),
        dt.date(2025, 10, 15),
        dt.date(2026, 1, 15),
    ]
    assert sum(r.amount for r in rows) == Decimal("106.00")  # 100 × (1 + 6 % × 1 year)
    pos = actions.licence_position(licence, dt.date(2025, 8, 1))
    assert pos["arrears"] == Decimal("53.00")
    actions.do_record_licence_payment(users["admin"], licence, dt.date(2025, 5, 1), 30)
    pos = actions.licence_position(licence, dt.date(2025, 8, 1))
    assert pos["paid"] == Decimal("30.00") and pos["arrears"] == Decimal("23.00")
    with pytest.raises(actions.FinanceError, match="remaining"):
        actions.do_record_licence_payment(users["admin"], licence, dt.date(2025, 5, 2), 77)
    with pytest.raises(actions.FinanceConflict):
        actions.do_create_licence_back(
            users["admin"],
            firm,
            [patent],
            financier="x",
            bank=None,
            contract_no="LB-1",
            licence_fee=1,
            paid_on=start,
            fee_rate=1,
            term_months=1,
        )


def test_licence_pages_and_access(users, firms, bank, patent, client_for):
    firm = firms[uscc(1)]
    licence = actions.do_create_licence_back(
        users["admin"],
        firm,
        [patent],
        financier="某融资租赁公司",
        bank=None,
        contract_no="LB-2",
        licence_fee=50,
        paid_on=dt.date(2025, 1, 1),
        fee_rate=5,
        term_months=6,
        every_months=3,
    )
    assert client_for("enterprise").get(f"/finance/licences/{licence.pk}/").status_code == 200
    assert client_for("other_admin").get(f"/finance/licences/{licence.pk}/").status_code == 404
    assert client_for("bank").get(f"/finance/licences/{licence.pk}/").status_code == 404
    response = client_for("admin").post(
        f"/finance/licences/{licence.pk}/", {"paid_on": "2025-04-01", "amount": "10"}
    )
    assert response.status_code == 302
    assert (
        client_for("enterprise")
        .post(f"/finance/licences/{licence.pk}/", {"paid_on": "2025-04-01", "amount": "10"})
        .status_code
        == 403
    )
    api = client_for("admin").get("/api/finance/licences").json()
    assert api[0]["paid"] == 10.0 and api[0]["items"] == ["ZL1"]
    # a bank records a contract only for a firm that consented
    form = {
        "uscc": uscc(1),
        "items": "ZL1",
        "contract_no": "LB-3",
        "licence_fee": "20",
        "paid_on": "2025-01-01",
        "fee_rate": "4",
        "term_months": "6",
        "every_months": "3",
    }
    assert client_for("bank").post("/finance/licences/", form).status_code == 400
    actions.do_grant_consent(
        users["enterprise"], firm, bank, access.today(), access.today() + dt.timedelta(days=9)
    )
    assert client_for("bank").post("/finance/licences/", form).status_code == 302
    assert access.visible_licences(users["bank"]).get().bank == bank
