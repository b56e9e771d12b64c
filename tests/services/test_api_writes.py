"""The services API does what the pages do: the results workflow, projects, handling."""

from __future__ import annotations

import pytest

from tests.conftest import uscc

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_results_workflow_through_the_api(client_for, users):
    c = client_for("admin")
    r = post(
        c,
        "/api/services/results",
        {"zone": "Z1", "title": "成果", "university": "河北工业大学", "team": "张伟"},
    )
    assert r.status_code == 201
    rid = r.json()["id"]
    bad = post(
        c,
        f"/api/services/results/{rid}/grant",
        {"team_share": 90, "university_share": 20, "agreement": "a", "granted_on": "2024-01-02"},
    )
    assert bad.status_code == 400 and "100%" in bad.json()["detail"]
    assert (
        post(
            c,
            f"/api/services/results/{rid}/transfer",
            {"agreement": "t", "transferred_on": "2024-02-01", "price": 1},
        ).status_code
        == 409
    )
    assert (
        post(
            c, f"/api/services/results/{rid}/grant", {"agreement": "a", "granted_on": "2024-01-02"}
        ).json()["status"]
        == "granted"
    )
    assert (
        post(
            c,
            f"/api/services/results/{rid}/transfer",
            {"agreement": "t", "transferred_on": "2024-02-01", "price": 1},
        ).status_code
        == 200
    )
    assert (
        post(
            c,
            f"/api/services/results/{rid}/income-right",
            {"ratio": 12.5, "basis": "profit", "term_years": 5, "income_from": "2024-03-01"},
        ).status_code
        == 200
    )
    conv = post(
        c,
        f"/api/services/results/{rid}/conversions",
        {"uscc": uscc(1), "mode": "equity", "converted_on": "2024-04-01", "amount": 500},
    )
    assert conv.status_code == 201 and conv.json()["in_zone"]
    income = post(
        c,
        f"/api/services/results/{rid}/conversions/{conv.json()['id']}/income",
        {"year": 2025, "basis_amount": 800},
    )
    assert income.status_code == 201 and income.json()["university_amount"] == 100.0
    ledger = c.get(f"/api/services/results/{rid}/ledger").json()
    assert ledger["university_total"] == 100.0 and ledger["team_total"] == 700.0
    # the firm the result was converted into now sees it; a supervisor cannot write
    assert client_for("enterprise").get(f"/api/services/results/{rid}").status_code == 200
    assert (
        post(
            client_for("supervisor"),
            f"/api/services/results/{rid}/grant",
            {"agreement": "a", "granted_on": "2024-01-02"},
        ).status_code
        == 403
    )


def test_projects_and_handling_through_the_api(client_for, users):
    c = client_for("admin")
    p = post(
        c,
        "/api/services/projects",
        {
            "zone": "Z1",
            "uscc": uscc(2),
            "name": "产线",
            "total_investment": 1000,
            "plan_year": 2026,
            "planned_this_year": 300,
            "signed_on": "2026-01-05",
            "milestones": {"groundbreaking": "2026-04-01"},
        },
    )
    assert p.status_code == 201
    pid = p.json()["id"]
    assert (
        post(
            c, f"/api/services/projects/{pid}/investments", {"month": "2026-03-15", "amount": 40}
        ).json()["month"]
        == "2026-03-01"
    )
    assert (
        post(
            c, f"/api/services/projects/{pid}/stage", {"stage": "construction", "on": "2026-05-01"}
        ).json()["stage"]
        == "construction"
    )
    assert (
        post(c, f"/api/services/projects/{pid}/stage", {"stage": "groundbreaking"}).status_code
        == 409
    )
    assert client_for("other_admin").get(f"/api/services/projects/{pid}").status_code == 404

    proc = c.post  # procedures are created on the pages or by actions
    from innopoints.services.actions import do_create_procedure
    from innopoints.zones.models import Zone

    pr = do_create_procedure(
        users["admin"],
        Zone.objects.get(code="Z1"),
        code="f",
        name_zh="备案",
        name_en="Filing",
        statutory_days=10,
        promised_days=3,
    )
    firm = client_for("enterprise")
    req = post(
        firm, "/api/services/handling", {"procedure_id": pr.pk, "description": "请协助办理备案"}
    )
    assert req.status_code == 201
    assert req.json()["state"] == "submitted"
    import datetime as dt

    from innopoints.enterprises.models import Enterprise
    from innopoints.services.actions import do_submit_request

    hid = do_submit_request(
        users["enterprise"],
        Enterprise.objects.get(uscc=uscc(1)),
        pr,
        description="x",
        submitted_on=dt.date(2026, 5, 29),
    ).pk
    assert post(firm, f"/api/services/handling/{hid}/accept", {}).status_code == 403
    c = client_for("admin")
    acc = post(c, f"/api/services/handling/{hid}/accept", {"on": "2026-06-01"})
    assert acc.status_code == 200 and acc.json()["promised_deadline"] == "2026-06-04"
    done = post(c, f"/api/services/handling/{hid}/complete", {"on": "2026-06-03"})
    assert done.json()["working_days"] == 2
    assert (
        post(client_for("enterprise"), f"/api/services/handling/{hid}/withdraw", {}).status_code
        == 409
    )
    assert proc is not None
