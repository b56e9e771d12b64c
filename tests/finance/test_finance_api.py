"""The finance API for bank systems: consents, products, shortlists, credit lines, loans;
the same access rules as the pages; a per-token rate limit; the role × endpoint matrix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from tests.api.conftest import bearer, make_token
from tests.conftest import uscc
from tests.finance.conftest import today

OWN = uscc(1)
PEER = uscc(2)
FOREIGN = uscc(9)


def test_bank_system_flow_over_the_api(client, users, firms, bank, scored, product):
    firm = bearer(make_token(users["enterprise"]))
    banker = bearer(make_token(users["bank"]))
    until = (today() + dt.timedelta(days=60)).isoformat()
    r = client.post(
        "/api/finance/consents",
        {"bank": bank.code, "valid_from": today().isoformat(), "valid_until": until},
        content_type="application/json",
        **firm,
    )
    assert r.status_code == 201, r.content
    consent_id = r.json()["id"]
    assert r.json()["valid"] is True
    products = client.get("/api/finance/products", **banker).json()
    assert [p["code"] for p in products["items"]] == ["jfd"]
    shortlist = client.get(f"/api/finance/products/{product.pk}/shortlist", **banker).json()
    assert [row["uscc"] for row in shortlist["items"]] == [OWN]
    line = client.get(f"/api/finance/products/{product.pk}/lines/{OWN}", **banker).json()
    assert line["steps"] and line["line"] == shortlist["items"][0]["line"]
    assert (
        client.get(f"/api/finance/products/{product.pk}/lines/{PEER}", **banker).status_code == 404
    )
    # the consented portrait (and not another firm's)
    assert client.get(f"/api/portrait/{OWN}/2024", **banker).status_code == 200
    assert client.get(f"/api/portrait/{PEER}/2024", **banker).status_code == 404
    # apply, decide, disburse, repay
    r = client.post(
        "/api/finance/loans",
        {"product": product.pk, "amount": 100, "term_months": 12, "purpose": "设备"},
        content_type="application/json",
        **firm,
    )
    assert r.status_code == 201, r.content
    loan = r.json()["id"]
    bad = client.post(
        f"/api/finance/loans/{loan}/decision",
        {"approve": True, "amount": 100, "rate": 99},
        content_type="application/json",
        **banker,
    )
    assert (
        bad.status_code == 400
        and bad.json()["code"] == "invalid"
        and "rate" in bad.json()["detail"]
    )
    r = client.post(
        f"/api/finance/loans/{loan}/decision",
        {"approve": True, "amount": 100, "rate": 4.2, "term_months": 12},
        content_type="application/json",
        **banker,
    )
    assert r.json()["status"] == "approved"
    r = client.post(
        f"/api/finance/loans/{loan}/disbursement",
        {"amount": 101, "on": today().isoformat()},
        content_type="application/json",
        **banker,
    )
    assert r.status_code == 400
    r = client.post(
        f"/api/finance/loans/{loan}/disbursement",
        {"amount": 100, "on": today().isoformat()},
        content_type="application/json",
        **banker,
    )
    assert r.json()["status"] == "disbursed"
    from innopoints.finance.actions import do_create_risk_pool

    pool = do_create_risk_pool(
        users["admin"], firms[OWN].zone, {"name": "池", "size": 50, "per_loan_cap": 100}
    )
    over = client.post(
        f"/api/finance/loans/{loan}/cover",
        {"pool": pool.pk},
        content_type="application/json",
        **banker,
    )
    assert over.status_code == 409  # 0.9 × 100 = 90 > 50
    pool.size = 500
    pool.save()
    cover = client.post(
        f"/api/finance/loans/{loan}/cover",
        {"pool": pool.pk},
        content_type="application/json",
        **banker,
    )
    assert cover.status_code == 200 and cover.json()["case"] == "first_loan"
    # the firm cannot record repayments; the bank can
    payment = {"paid_on": today().isoformat(), "principal": 100}
    assert (
        client.post(
            f"/api/finance/loans/{loan}/repayments",
            payment,
            content_type="application/json",
            **firm,
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/finance/loans/{loan}/repayments", payment, content_type="application/json", **banker
    )
    assert r.json()["status"] == "repaid"
    again = client.post(
        f"/api/finance/loans/{loan}/repayments", payment, content_type="application/json", **banker
    )
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    # revoke: the bank loses the shortlist entry (the application still lets it read)
    r = client.post(f"/api/finance/consents/{consent_id}/revoke", **firm)
    assert r.json()["valid"] is False
    assert (
        client.get(f"/api/finance/products/{product.pk}/shortlist", **banker).json()["count"] == 0
    )


def test_other_roles_get_403_or_404(client, users, firms, bank, product):
    admin = bearer(make_token(users["admin"]))
    other = bearer(make_token(users["other_admin"]))
    assert client.get(f"/api/finance/products/{product.pk}/shortlist", **admin).status_code == 403
    assert client.get(f"/api/finance/products/{product.pk}", **other).status_code == 404
    r = client.post(
        "/api/finance/consents",
        {"valid_from": today().isoformat(), "valid_until": today().isoformat()},
        content_type="application/json",
        **admin,
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


@override_settings(FINANCE_API_RATE=3)
def test_rate_limit_per_token(client, users, bank, product):
    first, second = bearer(make_token(users["bank"])), bearer(make_token(users["bank"]))
    codes = [client.get("/api/finance/products", **first).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = client.get("/api/finance/products", **first)
    assert last.json()["code"] == "throttled" and int(last["Retry-After"]) >= 1
    assert client.get("/api/finance/products", **second).status_code == 200  # per token


ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


MATRIX = [
    ("/finance/", expect(302, 302, 302, 302, 302, 302)),
    ("/finance/firm/", expect(302, 403, 403, 403, 200, 403)),
    ("/finance/bank/", expect(302, 403, 403, 403, 403, 200)),
    ("/finance/stats/", expect(302, 200, 200, 200, 403, 403)),
    ("/finance/loans/", expect(302, 200, 200, 200, 200, 200)),
    ("/finance/loans/{loan}/", expect(302, 200, 404, 200, 200, 200)),
    ("/finance/products/new/", expect(302, 403, 403, 403, 403, 200)),
    ("/finance/products/{product}/", expect(302, 200, 404, 200, 200, 200)),
    ("/finance/products/{product}/edit/", expect(302, 403, 404, 403, 403, 200)),
    ("/finance/products/{product}/shortlist/", expect(302, 403, 404, 403, 403, 200)),
    ("/finance/products/{product}/shortlist/?export=xlsx", expect(302, 403, 404, 403, 403, 200)),
    ("/finance/products/{product}/monitor/", expect(302, 403, 404, 403, 403, 200)),
    ("/finance/products/{product}/apply/", expect(302, 403, 404, 403, 200, 403)),
    (f"/finance/products/{{product}}/lines/{OWN}/", expect(302, 200, 404, 200, 200, 200)),
    (f"/finance/products/{{product}}/lines/{PEER}/", expect(302, 200, 404, 200, 404, 404)),
    ("/finance/riskpools/", expect(302, 200, 200, 200, 403, 200)),
    ("/finance/ip/", expect(302, 200, 200, 200, 200, 200)),
    ("/finance/pledges/", expect(302, 200, 200, 200, 200, 200)),
    ("/finance/licences/", expect(302, 200, 200, 200, 200, 200)),
    ("/api/finance/consents", expect(401, 200, 200, 200, 200, 200)),
    ("/api/finance/products", expect(401, 200, 200, 200, 200, 200)),
    ("/api/finance/products/{product}", expect(401, 200, 404, 200, 200, 200)),
    ("/api/finance/products/{product}/shortlist", expect(401, 403, 404, 403, 403, 200)),
    (f"/api/finance/products/{{product}}/lines/{OWN}", expect(401, 200, 404, 200, 200, 200)),
    (f"/api/finance/products/{{product}}/lines/{FOREIGN}", expect(401, 404, 404, 404, 404, 404)),
    ("/api/finance/products/{product}/monitor", expect(401, 403, 404, 403, 403, 200)),
    ("/api/finance/loans", expect(401, 200, 200, 200, 200, 200)),
    ("/api/finance/loans/{loan}", expect(401, 200, 404, 200, 200, 200)),
    ("/api/finance/riskpools", expect(401, 200, 200, 200, 200, 200)),
    ("/api/finance/pledges", expect(401, 200, 200, 200, 200, 200)),
    ("/api/finance/licences", expect(401, 200, 200, 200, 200, 200)),
]


@pytest.fixture
def placeholders(users, firms, scored, product):
    from innopoints.finance.actions import do_apply_loan

    loan = do_apply_loan(users["enterprise"], firms[OWN], product, 100, 12, "设备")
    return {"product": product.pk, "loan": loan.pk}


@pytest.mark.parametrize("path,expected", MATRIX, ids=[p for p, _ in MATRIX])
def test_every_role_against_every_finance_endpoint(client_for, placeholders, path, expected):
    url = path.format(**placeholders)
    for role, status in expected.items():
        response = client_for(role).get(url)
        assert response.status_code == status, f"{role} GET {url}: {response.status_code}"


def test_nul_characters_never_reach_the_database(client, users, firms, bank, scored, product):
    from innopoints.finance.models import Loan

    firm = bearer(make_token(users["enterprise"]))
    r = client.post(
        "/api/finance/loans",
        {"product": product.pk, "amount": 50, "term_months": 12, "purpose": "设备\x00采购"},
        content_type="application/json",
        **firm,
    )
    assert r.status_code == 201 and Loan.objects.get().purpose == "设备采购"
    assert client.get("/api/finance/loans?status=%00", **firm).json()["count"] == 0
    assert client.get(f"/api/finance/products/{product.pk}/lines/A%00B", **firm).status_code == 404
