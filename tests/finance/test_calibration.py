"""A bank calibrates a product's table from its loan outcomes and watches score drift."""

from __future__ import annotations

import pytest

from innopoints.finance import actions, calibration
from innopoints.finance.models import Loan
from tests.conftest import uscc
from tests.finance.conftest import today


def financed(users, firm, product, grade: str, default: bool) -> Loan:
    loan = actions.do_apply_loan(users["enterprise"], firm, product, 100, 12, "x")
    Loan.objects.filter(pk=loan.pk).update(grade=grade)
    loan = actions.do_decide_loan(users["bank"], loan, True, amount=100, rate=4, term_months=12)
    loan = actions.do_disburse_loan(users["bank"], loan, 100, today())
    if default:
        actions.do_mark_default(users["bank"], loan, today())
    else:
        actions.do_record_repayment(users["bank"], loan, today(), 100)
    return loan


def test_calibration_scales_only_grades_above_the_target(users, firms, bank, scored, product):
    firm = firms[uscc(1)]
    # grade ≥80: 4 loans, 2 defaults (50 %); grade ≥0: 2 loans (too few to judge)
    for default in (True, True, False, False):
        financed(users, firm, product, "≥80", default)
    for default in (True, False):
        financed(users, firm, product, "≥0", default)
    table = {r["grade"]: r for r in calibration.outcomes(product).to_dicts()}
    assert table["≥80"]["rate"] == 0.5 and table["≥0"]["loans"] == 2
    doc, rows = calibration.calibrate(product, 0.1)
    by_grade = {r["grade"]: r for r in rows}
    assert by_grade["≥80"]["factor"] == pytest.approx(0.2)
    assert by_grade["≥80"]["new"] == pytest.approx(0.3 * 0.2)
    assert by_grade["≥0"]["factor"] == 1.0  # fewer than 3 loans: unchanged
    product, _rows = actions.do_calibrate_product(users["bank"], product, 0.1)
    assert product.credit_table["grades"][0]["multiple"] == pytest.approx(0.06)
    with pytest.raises(actions.FinanceError):
        actions.do_calibrate_product(users["bank"], product, 1.5)


def test_drift_between_two_scored_years(users, zone, firms, bank, product):
    from tests.scoring.helpers import scored_zone

    scored_zone(zone, users["admin"], year=2023)
    scored_zone(zone, users["admin"], year=2024)
    drift = calibration.drift(product, [zone])
    assert drift["year"] == 2024 and drift["base_year"] == 2023
    assert drift["psi_points"] is not None and drift["psi_points"] >= 0


def test_monitor_page_and_api(users, firms, bank, scored, product, client_for):
    page = client_for("bank").get(f"/finance/products/{product.pk}/monitor/?target=0.05")
    assert page.status_code == 200
    assert client_for("admin").get(f"/finance/products/{product.pk}/monitor/").status_code == 403
    api = client_for("bank").get(f"/api/finance/products/{product.pk}/monitor?target_rate=0.05")
    assert api.status_code == 200 and set(api.json()) == {"outcomes", "proposal", "drift"}
    assert (
        client_for("bank")
        .get(f"/api/finance/products/{product.pk}/monitor?target_rate=2")
        .status_code
        == 400
    )
    response = client_for("bank").post(
        f"/finance/products/{product.pk}/monitor/", {"target": "0.05"}
    )
    assert response.status_code == 302
