"""Consent and bank access, shortlists, the loan lifecycle, risk pools and IP pledges."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from innopoints.finance import access, actions
from innopoints.finance.models import Loan, Shortlisting
from tests.conftest import uscc
from tests.finance.conftest import today

OWN = uscc(1)
PEER = uscc(2)


def grant(users, firms, bank=None, days=30):
    return actions.do_grant_consent(
        users["enterprise"], firms[OWN], bank, today(), today() + dt.timedelta(days=days)
    )


# ---------------------------------------------------------------------------- consent


def test_bank_sees_a_firm_only_under_a_valid_consent(users, firms, bank, client_for):
    banker = client_for("bank")
    assert banker.get(f"/api/enterprises/{OWN}").status_code == 404
    assert banker.get(f"/portrait/{OWN}/").status_code == 404
    consent = grant(users, firms, bank)
    assert banker.get(f"/api/enterprises/{OWN}").status_code == 200
    assert banker.get(f"/api/enterprises/{PEER}").status_code == 404  # no consent from PEER
    actions.do_revoke_consent(users["enterprise"], consent)
    assert banker.get(f"/api/enterprises/{OWN}").status_code == 404
    with pytest.raises(actions.FinanceConflict):
        actions.do_revoke_consent(users["enterprise"], consent)


def test_consent_to_all_partner_banks_and_expired_consent(users, firms, bank):
    from innopoints.finance.models import Consent
    from innopoints.portrait.access import bank_may_view

    grant(users, firms, None)  # all partner banks of the zone: `bank` partners with it
    assert bank_may_view(users["bank"], firms[OWN])
    assert not bank_may_view(users["bank"], firms[PEER])
    Consent.objects.update(
        valid_until=today() - dt.timedelta(days=1), valid_from=today() - dt.timedelta(days=5)
    )
    assert not bank_may_view(users["bank"], firms[OWN])


def test_bad_consents_are_refused(users, firms, bank, other_zone):
    from innopoints.zones.models import Bank

    with pytest.raises(actions.FinanceError, match="valid_until"):
        actions.do_grant_consent(
            users["enterprise"], firms[OWN], bank, today(), today() - dt.timedelta(days=1)
        )
    stranger = Bank.objects.create(code="b9", name="外地银行")
    with pytest.raises(actions.FinanceError, match="partner"):
        actions.do_grant_consent(users["enterprise"], firms[OWN], stranger, today(), today())


def test_every_bank_read_is_audited_and_shown_to_the_firm(users, firms, bank, client_for):
    grant(users, firms, bank)
    client_for("bank").get(f"/api/enterprises/{OWN}")
    reads = list(access.reads_of(firms[OWN]))
    assert len(reads) == 1 and reads[0].actor == users["bank"]
    page = client_for("enterprise").get("/finance/firm/")
    assert page.status_code == 200
    assert "banker" in page.content.decode()


def test_firm_grants_and_revokes_on_its_page(users, firms, bank, client_for):
    c = client_for("enterprise")
    response = c.post(
        "/finance/firm/",
        {
            "bank": bank.pk,
            "valid_from": today().isoformat(),
            "valid_until": (today() + dt.timedelta(days=90)).isoformat(),
        },
    )
    assert response.status_code == 302
    consent = access.visible_consents(users["enterprise"]).get()
    assert consent.bank == bank
    assert c.post(f"/finance/consents/{consent.pk}/revoke/").status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    # another role cannot revoke it
    assert client_for("bank").post(f"/finance/consents/{consent.pk}/revoke/").status_code in (
        403,
        404,
    )


# ---------------------------------------------------------------------------- lines, shortlist


def test_lines_for_all_firms_and_the_shortlist(users, firms, bank, scored, product, client_for):
    from innopoints.finance import credit

    lines = credit.product_lines(product, access.product_zones(product))
    assert lines.height == 3 and set(lines["status"]) <= {
        "ok",
        "unknown",
        "no_grade",
        "missing_data",
        "blocked",
    }
    assert (lines["line"].drop_nulls() <= 1000).all()
    # no consent: empty shortlist
    banker = client_for("bank")
    assert "jfd" in banker.get("/finance/bank/").content.decode()
    page = banker.get(f"/finance/products/{product.pk}/shortlist/")
    assert page.status_code == 200 and OWN not in page.content.decode()
    grant(users, firms, bank)
    page = banker.get(f"/finance/products/{product.pk}/shortlist/")
    assert OWN in page.content.decode() and PEER not in page.content.decode()
    assert Shortlisting.objects.filter(enterprise=firms[OWN]).count() == 1
    export = banker.get(f"/finance/products/{product.pk}/shortlist/?export=xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"
    assert Shortlisting.objects.get(enterprise=firms[OWN]).exported
    firm_page = client_for("enterprise").get("/finance/firm/").content.decode()
    assert "积分贷" in firm_page  # the firm sees it was shortlisted
    banker = client_for("bank")  # the test client is shared: log in again
    explained = banker.get(f"/finance/products/{product.pk}/lines/{OWN}/")
    assert explained.status_code == 200 and "steps" in explained.content.decode()
    assert banker.get(f"/finance/products/{product.pk}/lines/{PEER}/").status_code == 404
    # other roles have no shortlist
    assert client_for("admin").get(f"/finance/products/{product.pk}/shortlist/").status_code == 403
    assert (
        client_for("enterprise").get(f"/finance/products/{product.pk}/shortlist/").status_code
        == 403
    )


def test_product_validation(users, bank):
    with pytest.raises(actions.FinanceError, match="credit_table"):
        actions.do_save_product(
            users["bank"],
            bank,
            {
                "code": "x",
                "name": "x",
                "kind": "points_credit",
                "amount_min": 0,
                "amount_max": 10,
                "term_min_months": 1,
                "term_max_months": 12,
                "rate_min": 3,
                "rate_max": 5,
                "credit_table": {"grades": []},
            },
        )
    with pytest.raises(actions.FinanceError, match="amount_max"):
        actions.do_save_product(
            users["bank"],
            bank,
            {
                "code": "x",
                "name": "x",
                "kind": "points_credit",
                "amount_min": 50,
                "amount_max": 10,
                "term_min_months": 1,
                "term_max_months": 12,
                "rate_min": 3,
                "rate_max": 5,
                "credit_table": {"grades": [{"band": "*", "base": "fixed", "amount": 1}]},
            },
        )


# ---------------------------------------------------------------------------- loans


def run_loan(users, firms, product, amount=200):
    loan = actions.do_apply_loan(
        users["enterprise"], firms[OWN], product, amount, 12, "研发设备采购"
    )
    loan = actions.do_decide_loan(
        users["bank"], loan, True, amount=amount, rate=4.35, term_months=12
    )
    return actions.do_disburse_loan(users["bank"], loan, amount, today())


def test_loan_lifecycle_validated(users, firms, bank, scored, product, client_for):
    loan = actions.do_apply_loan(users["enterprise"], firms[OWN], product, 200, 12, "研发设备采购")
    assert loan.status == Loan.Status.APPLIED and loan.score_year == 2024
    # an application lets the bank read the firm even without consent
    assert client_for("bank").get(f"/api/enterprises/{OWN}").status_code == 200
    with pytest.raises(actions.FinanceConflict):
        actions.do_apply_loan(users["enterprise"], firms[OWN], product, 100, 12, "again")
    with pytest.raises(actions.FinanceError, match="amount"):
        actions.do_apply_loan(users["enterprise"], firms[PEER], product, 5000, 12, "too much")
    with pytest.raises(actions.FinanceConflict):
        actions.do_disburse_loan(users["bank"], loan, 100, today())  # not approved yet
    with pytest.raises(actions.FinanceError, match="rate"):
        actions.do_decide_loan(users["bank"], loan, True, amount=150, rate=9.9)
    loan.refresh_from_db()
    loan = actions.do_decide_loan(users["bank"], loan, True, amount=150, rate=4.35, term_months=12)
    assert loan.status == Loan.Status.APPROVED
    with pytest.raises(actions.FinanceError, match="approved"):
        actions.do_disburse_loan(users["bank"], loan, 151, today())
    loan = actions.do_disburse_loan(users["bank"], loan, 150, today())
    assert loan.installments.count() == 12
    assert sum(i.principal for i in loan.installments.all()) == Decimal("150.00")
    with pytest.raises(actions.FinanceError, match="principal"):
        actions.do_record_repayment(users["bank"], loan, today(), 151)
    actions.do_record_repayment(users["bank"], loan, today(), 100, 1)
    actions.do_record_repayment(users["bank"], loan, today(), 50)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REPAID and loan.outstanding == 0
    with pytest.raises(actions.FinanceConflict):
        actions.do_record_repayment(users["bank"], loan, today(), 1)  # after settlement
    from innopoints.audit.models import AuditEvent

    steps = list(
        AuditEvent.objects.filter(object_type="finance.loan").values_list("action", flat=True)
    )
    assert {
        "finance.loan.applied",
        "finance.loan.approved",
        "finance.loan.disbursed",
        "finance.loan.repaid",
    } <= set(steps)


def test_reject_needs_a_reason_and_ends_the_loan(users, firms, bank, scored, product):
    loan = actions.do_apply_loan(users["enterprise"], firms[OWN], product, 100, 12, "流动资金")
    with pytest.raises(actions.FinanceError, match="reason"):
        actions.do_decide_loan(users["bank"], loan, False)
    loan.refresh_from_db()
    loan = actions.do_decide_loan(users["bank"], loan, False, reason="经营数据不足")
    assert loan.status == Loan.Status.REJECTED
    with pytest.raises(actions.FinanceConflict):
        actions.do_withdraw_loan(users["enterprise"], loan)


def test_risk_pool_cover_claim_and_over_commitment(users, firms, bank, scored, product, zone):
    pool = actions.do_create_risk_pool(
        users["admin"],
        zone,
        {
            "name": "风险补偿资金池",
            "size": 200,
            "per_loan_cap": 150,
            "max_years": 2,
            "cover_part_credit": 0.5,
            "cover_mostly_credit": 0.7,
            "cover_first_loan": 0.9,
            "guarantor_share": 0,
        },
    )
    loan = run_loan(users, firms, product, amount=200)
    cover = actions.do_cover_loan(users["bank"], pool, loan)
    assert cover.case == "first_loan" and cover.committed == Decimal("150.00")  # 0.9×200 capped
    position = actions.pool_position(pool)
    assert position["available"] == Decimal("50.00")
    second = actions.do_apply_loan(users["enterprise"], firms[PEER], product, 100, 12, "x")
    second = actions.do_decide_loan(users["bank"], second, True, amount=100, rate=4, term_months=12)
    second = actions.do_disburse_loan(users["bank"], second, 100, today())
    with pytest.raises(actions.FinanceConflict, match="over-commitment"):
        actions.do_cover_loan(users["bank"], pool, second)  # 0.9 × 100 = 90 > 50 available
    actions.do_record_repayment(users["bank"], loan, today(), 40)
    loan = actions.do_mark_default(users["bank"], loan, today())
    assert loan.status == Loan.Status.DEFAULTED and loan.loss == Decimal("160.00")
    claim = loan.claim
    assert claim.pool_amount == Decimal("144.00")  # 0.9 × 160
    assert claim.bank_amount == Decimal("16.00")
    position = actions.pool_position(pool)
    assert position["balance"] == Decimal("56.00") and position["committed"] == 0


def test_guarantor_split(users, firms, bank, scored, product, zone):
    pool = actions.do_create_risk_pool(
        users["admin"],
        zone,
        {
            "name": "三方分担",
            "size": 1000,
            "per_loan_cap": 300,
            "cover_part_credit": 0.3,
            "cover_mostly_credit": 0.3,
            "cover_first_loan": 0.3,
            "guarantor_share": 0.5,
        },
    )
    loan = run_loan(users, firms, product, amount=100)
    actions.do_cover_loan(users["bank"], pool, loan)
    loan = actions.do_mark_default(users["bank"], loan, today())
    assert (loan.claim.pool_amount, loan.claim.guarantor_amount, loan.claim.bank_amount) == (
        Decimal("30.00"),
        Decimal("50.00"),
        Decimal("20.00"),
    )
    with pytest.raises(actions.FinanceError, match="100"):
        actions.do_create_risk_pool(
            users["admin"],
            zone,
            {
                "name": "bad",
                "size": 1,
                "per_loan_cap": 1,
                "cover_first_loan": 0.9,
                "guarantor_share": 0.5,
            },
        )


def test_ip_pledge_ltv_and_no_double_pledge(users, firms, bank, pledge_product):
    firm = firms[OWN]
    patent = actions.do_register_ip(
        users["enterprise"], firm, "invention_patent", "ZL202310000001.1", "一种传感器"
    )
    mark = actions.do_register_ip(users["enterprise"], firm, "trademark", "TM12345", "商标")
    with pytest.raises(actions.FinanceConflict):
        actions.do_register_ip(users["enterprise"], firm, "trademark", "tm12345", "重复")
    grant(users, firms, bank)
    with pytest.raises(actions.FinanceError, match="valuation"):
        actions.do_register_pledge(users["bank"], pledge_product, firm, [patent], "R1", today(), 10)
    actions.do_add_valuation(users["enterprise"], patent, "appraiser", 1000, today(), "某评估公司")
    actions.do_add_valuation(users["bank"], mark, "bank_model", 100, today())
    # 0.25 × 1000 + 0.5 × 100 = 300
    with pytest.raises(actions.FinanceError, match="loan-to-value"):
        actions.do_register_pledge(
            users["bank"], pledge_product, firm, [patent, mark], "R1", today(), 301
        )
    pledge = actions.do_register_pledge(
        users["bank"], pledge_product, firm, [patent, mark], "R1", today(), 300
    )
    with pytest.raises(actions.FinanceConflict, match="pledged"):
        actions.do_register_pledge(users["bank"], pledge_product, firm, [patent], "R2", today(), 10)
    actions.do_release_pledge(users["bank"], pledge, today())
    actions.do_register_pledge(users["bank"], pledge_product, firm, [patent], "R2", today(), 10)
    from innopoints.finance import stats

    table = stats.pledge_stats(access.visible_pledges(users["admin"]))
    assert table.filter(table["ip_type"] == "invention_patent")["pledges"].to_list() == [2]


def test_zone_statistics(users, firms, bank, scored, product, client_for):
    from innopoints.finance import stats

    loan = run_loan(users, firms, product, amount=100)
    actions.do_mark_default(users["bank"], loan, today())
    frame = stats.loan_frame(access.visible_loans(users["admin"]))
    assert stats.totals(frame) == {"firms": 1, "loans": 1, "amount": 100.0}
    rates = stats.default_rates(frame)
    assert rates["rate"].to_list() == [1.0]
    page = client_for("admin").get("/finance/stats/")
    assert page.status_code == 200
    assert client_for("other_admin").get(f"/finance/loans/{loan.pk}/").status_code == 404


def test_psi_is_zero_for_the_same_population():
    import polars as pl

    from innopoints.finance.stats import psi

    a = pl.Series("x", [float(i) for i in range(1000)])
    assert psi(a, a) == pytest.approx(0.0, abs=1e-9)
    assert psi(a, a * 0.5) > 0.25


def test_consented_bank_opens_the_portrait_and_the_read_is_audited(
    users, firms, bank, scored, client_for
):
    banker = client_for("bank")
    assert banker.get(f"/portrait/{OWN}/2024/").status_code == 404
    assert banker.get("/portrait/").status_code == 404  # no portrait search for banks
    grant(users, firms, bank)
    assert banker.get(f"/portrait/{OWN}/2024/").status_code == 200
    assert banker.get(f"/portrait/{PEER}/2024/").status_code == 404
    assert access.reads_of(firms[OWN]).count() == 1


def test_eligibility_rule_blocks_ineligible_firms(users, firms, bank, scored, product):
    from innopoints.finance import credit

    product.eligibility = {">=": [{"score": "pct_zone"}, 50]}
    product.save()
    lines = credit.product_lines(product, access.product_zones(product))
    by_firm = {r["uscc"]: r for r in lines.to_dicts()}
    assert len(by_firm) == 3
    for row in by_firm.values():
        if row["pct"] >= 50:
            assert row["eligibility"] == "eligible" and row["status"] != "blocked"
        else:
            assert row["eligibility"] == "ineligible"
            assert row["status"] == "blocked" and row["block"] == "ineligible" and row["line"] == 0
    assert {r["eligibility"] for r in by_firm.values()} == {"eligible", "ineligible"}


def test_bad_eligibility_rule_is_refused(users, bank, product):
    data = {f: getattr(product, f) for f in actions.PRODUCT_FIELDS}
    data["eligibility"] = {">=": [{"field": "no_such_field"}, 1]}
    with pytest.raises(actions.FinanceError, match="eligibility"):
        actions.do_save_product(users["bank"], bank, data, product)


def test_daily_batch_flags_overdue_loans(users, firms, bank, scored, product):
    from typer.testing import CliRunner

    from innopoints.cli import app
    from innopoints.finance.models import Installment

    loan = run_loan(users, firms, product, amount=120)
    assert actions.do_flag_overdue_loans(None, today()) == []  # nothing due yet
    # two instalments fell due before today and are unpaid
    for n in (1, 2):
        Installment.objects.filter(loan=loan, number=n).update(
            due_on=today() - dt.timedelta(days=3 - n)
        )
    result = CliRunner().invoke(app, ["loans-overdue", "--on", today().isoformat()])
    assert result.exit_code == 0 and "1 loans marked overdue" in result.output
    loan.refresh_from_db()
    assert loan.status == Loan.Status.OVERDUE
    # paying what is due brings it back to running
    with pytest.raises(actions.FinanceError, match="future"):
        actions.do_record_repayment(users["bank"], loan, today() + dt.timedelta(days=9), 20)
    actions.do_record_repayment(users["bank"], loan, today(), 20)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.DISBURSED
    bad = CliRunner().invoke(app, ["loans-overdue", "--on", "yesterday"])
    assert bad.exit_code == 2


def test_zone_sees_consents_in_force_per_bank(users, firms, bank, client_for):
    grant(users, firms, bank)
    actions.do_grant_consent(
        users["enterprise"], firms[OWN], None, today(), today() + dt.timedelta(days=3)
    )
    counts = access.consent_counts(users["admin"])
    assert {(c["bank__name"], c["firms"]) for c in counts} == {(bank.name, 1), (None, 1)}
    assert access.consent_counts(users["other_admin"]) == []
    assert access.consent_counts(users["bank"]) == []
    page = client_for("supervisor").get("/finance/stats/")
    assert page.status_code == 200 and bank.name in page.content.decode()


def test_reported_bank_debt_counts_when_larger(users, firms, bank, scored, product, monkeypatch):
    import polars as pl

    from innopoints.finance import credit

    real = credit.zone_derived

    def with_debt(zone):
        panel = real(zone)
        return panel.with_columns(
            pl.when(pl.col("uscc") == OWN).then(pl.lit(40.0)).otherwise(None).alias("bank_debt")
        )

    before = credit.firm_line(product, firms[OWN])
    monkeypatch.setattr(credit, "zone_derived", with_debt)
    after = credit.firm_line(product, firms[OWN])
    assert after["debt"] == 40.0
    assert after["line"] == pytest.approx(max(before["line"] - 40.0, 0.0))
