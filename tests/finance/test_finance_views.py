"""Finance pages: the firm applies with the pre-filled form, the bank handles the loan on
its page, pledges and IP are registered through the forms, lists export to Excel."""

from __future__ import annotations

import datetime as dt

import pytest

from innopoints.finance import access, actions
from innopoints.finance.models import IPItem, Loan, Pledge
from tests.conftest import uscc
from tests.finance.conftest import today

OWN = uscc(1)


def test_apply_and_handle_a_loan_through_the_pages(users, firms, bank, scored, product, client_for):
    firm = client_for("enterprise")
    form = firm.get(f"/finance/products/{product.pk}/apply/")
    assert form.status_code == 200 and 'name="amount"' in form.content.decode()
    bad = firm.post(
        f"/finance/products/{product.pk}/apply/",
        {"amount": "5", "term_months": "12", "purpose": "x", "credit_share": "1"},
    )
    assert bad.status_code == 400  # below the product minimum
    ok = firm.post(
        f"/finance/products/{product.pk}/apply/",
        {"amount": "120", "term_months": "12", "purpose": "研发设备", "credit_share": "0.8"},
    )
    assert ok.status_code == 302
    loan = Loan.objects.get()
    banker = client_for("bank")
    page = banker.get(f"/finance/loans/{loan.pk}/")
    assert page.status_code == 200 and "研发设备" in page.content.decode()
    steps = [
        {"action": "review"},
        {"action": "approve", "amount": "120", "rate": "4.1", "term_months": "12"},
        {"action": "disburse", "amount": "120", "on": today().isoformat()},
        {"action": "repay", "amount": "20", "interest": "0.5", "on": today().isoformat()},
    ]
    for step in steps:
        response = banker.post(f"/finance/loans/{loan.pk}/", step)
        assert response.status_code == 302, (step, response.content.decode()[-800:])
    loan.refresh_from_db()
    assert loan.status == Loan.Status.DISBURSED and loan.outstanding == 100
    too_much = banker.post(f"/finance/loans/{loan.pk}/", {"action": "repay", "amount": "101"})
    assert too_much.status_code == 400 and "outstanding" in too_much.content.decode()
    # the firm cannot act as the bank; the zone admin only reads
    firm = client_for("enterprise")  # the test client is shared: log in again
    assert firm.post(f"/finance/loans/{loan.pk}/", {"action": "default"}).status_code == 403
    assert (
        client_for("admin").post(f"/finance/loans/{loan.pk}/", {"action": "default"}).status_code
        == 403
    )
    assert client_for("admin").get(f"/finance/loans/{loan.pk}/").status_code == 200
    export = client_for("admin").get("/finance/loans/?export=xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"


def test_ip_and_pledge_forms(users, firms, bank, pledge_product, client_for):
    firm = client_for("enterprise")
    response = firm.post(
        "/finance/ip/",
        {
            "ip-kind": "invention_patent",
            "ip-number": "zl2024-1",
            "ip-title": "一种装置",
            "ip-legal_status": "valid",
        },
    )
    assert response.status_code == 302
    item = IPItem.objects.get()
    assert item.number == "ZL2024-1"
    response = firm.post(
        "/finance/ip/",
        {
            "val-item": item.pk,
            "val-source": "appraiser",
            "val-value": "400",
            "val-valued_on": today().isoformat(),
        },
    )
    assert response.status_code == 302 and item.valuations.count() == 1
    actions.do_grant_consent(
        users["enterprise"], firms[OWN], bank, today(), today() + dt.timedelta(days=5)
    )
    banker = client_for("bank")
    assert "ZL2024-1" in banker.get("/finance/ip/").content.decode()
    form = {
        "product": pledge_product.pk,
        "uscc": OWN,
        "items": "ZL2024-1",
        "registration_no": "Y1",
        "registered_on": today().isoformat(),
        "loan_amount": "101",
    }
    refused = banker.post("/finance/pledges/", form)
    assert refused.status_code == 400 and "loan-to-value" in refused.content.decode()  # 0.25 × 400
    assert banker.post("/finance/pledges/", {**form, "loan_amount": "100"}).status_code == 302
    pledge = Pledge.objects.get()
    assert banker.post("/finance/pledges/", {"release": pledge.pk}).status_code == 302
    pledge.refresh_from_db()
    assert pledge.released_on == today()
    assert client_for("enterprise").post("/finance/pledges/", form).status_code == 403
    assert (
        client_for("enterprise").post("/finance/pledges/", {"release": pledge.pk}).status_code
        == 403
    )
    assert access.reads_of(firms[OWN]).exists()


def test_branches_officers_and_the_reviewing_officer(
    users, firms, bank, zone, scored, product, client_for
):
    banker = client_for("bank")
    r = banker.post(
        "/finance/bank/",
        {
            "form": "branch",
            "br-code": "sjz-gx",
            "br-name": "高新区支行",
            "br-region_code": "130100",
            "br-zone": zone.pk,
        },
    )
    assert r.status_code == 302
    branch = access.visible_branches(users["bank"]).get()
    assert branch.zone == zone
    bad = banker.post(
        "/finance/bank/", {"form": "branch", "br-code": "x", "br-name": "x", "br-region_code": "12"}
    )
    assert bad.status_code == 400
    r = banker.post(
        "/finance/bank/",
        {
            "form": "officer",
            "of-user": users["bank"].pk,
            "of-branch": branch.pk,
            "of-title": "客户经理",
        },
    )
    assert r.status_code == 302
    page = banker.get("/finance/bank/").content.decode()
    assert "高新区支行" in page and "客户经理" in page
    loan = actions.do_apply_loan(users["enterprise"], firms[OWN], product, 100, 12, "x")
    loan = actions.do_start_review(users["bank"], loan)
    assert loan.officer == users["bank"] and loan.branch == branch
    # a user of another bank cannot be assigned
    with pytest.raises(actions.FinanceError):
        actions.do_assign_officer(users["bank"], users["admin"], bank, branch)


def test_pledge_and_licence_lists_export(users, firms, client_for):
    for url in ("/finance/pledges/?export=xlsx", "/finance/licences/?export=xlsx"):
        response = client_for("admin").get(url)
        assert response.status_code == 200 and response.content[:2] == b"PK", url


def test_bank_home_counts_the_firms_it_may_read(users, firms, bank, client_for):
    actions.do_grant_consent(
        users["enterprise"], firms[OWN], bank, today(), today() + dt.timedelta(days=5)
    )
    page = client_for("bank").get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "/finance/bank/" in page.content.decode()


def test_bank_creates_and_edits_a_product_on_its_page(users, bank, product, client_for):
    import json

    from innopoints.engine.credit import DEFAULT_TABLE

    banker = client_for("bank")
    data = {
        "code": "kjd",
        "name": "科技贷",
        "kind": "points_credit",
        "amount_min": "10",
        "amount_max": "500",
        "term_min_months": "6",
        "term_max_months": "24",
        "rate_min": "3.5",
        "rate_max": "5",
        "credit_table": json.dumps(DEFAULT_TABLE),
        "eligibility": "",
        "ltv_max": "",
        "active": "on",
    }
    assert banker.post("/finance/products/new/", data).status_code == 302
    bad = banker.post("/finance/products/new/", {**data, "code": "x2", "credit_table": "{"})
    assert bad.status_code == 400
    clash = banker.post(f"/finance/products/{product.pk}/edit/", {**data, "code": "kjd"})
    assert clash.status_code == 400 and "code exists" in clash.content.decode()
    edited = banker.post(
        f"/finance/products/{product.pk}/edit/", {**data, "code": "jfd", "name": "新名"}
    )
    assert edited.status_code == 302
    product.refresh_from_db()
    assert product.name == "新名"
