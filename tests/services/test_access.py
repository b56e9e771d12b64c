"""Every role against every services page and endpoint (the project's access matrix)."""

from __future__ import annotations

import datetime as dt

import pytest

from innopoints.services import actions
from tests.conftest import uscc
from tests.web.test_access_matrix import expect

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(users, zone, other_zone, firms):
    """One record of each kind in Z1 (firm 1 as the party/owner) and a contract in Z2."""
    admin = users["admin"]
    own = firms[uscc(1)]
    peer = firms[uscc(2)]
    c_own = actions.do_create_contract(
        admin,
        zone,
        registration_no="A1",
        registered_on=dt.date(2024, 3, 1),
        title="t",
        type="service",
        seller_name=own.name,
        seller_uscc=own.uscc,
        buyer_name="大学",
        amount=10,
    )
    c_peer = actions.do_create_contract(
        admin,
        zone,
        registration_no="A2",
        registered_on=dt.date(2024, 3, 1),
        title="t",
        type="service",
        seller_name=peer.name,
        seller_uscc=peer.uscc,
        buyer_name="大学",
        amount=10,
    )
    c_foreign = actions.do_create_contract(
        users["other_admin"],
        other_zone,
        registration_no="B1",
        registered_on=dt.date(2024, 3, 1),
        title="t",
        type="service",
        seller_name="x",
        buyer_name="y",
        amount=1,
    )
    actions.do_create_supply(
        admin,
        zone,
        title="机器视觉缺陷检测",
        field="electronics",
        keywords="机器视觉、缺陷检测",
        owner="河北工业大学",
    )
    d_own = actions.do_create_demand(
        admin, own, problem="外观缺陷检测", description="需要机器视觉检测划痕"
    )
    d_peer = actions.do_create_demand(admin, peer, problem="缺陷检测", description="机器视觉")
    result = actions.do_create_result(
        admin, zone, title="成果", university="河北工业大学", team="张伟"
    )
    project = actions.do_create_project(
        admin,
        zone,
        own,
        name="项目",
        total_investment=100,
        planned_this_year=50,
        plan_year=2026,
        stage="signed",
        signed_on=dt.date(2026, 1, 5),
    )
    peer_project = actions.do_create_project(
        admin,
        zone,
        peer,
        name="项目2",
        total_investment=100,
        planned_this_year=50,
        plan_year=2026,
        stage="signed",
        signed_on=dt.date(2026, 1, 5),
    )
    proc = actions.do_create_procedure(
        admin, zone, code="p", name_zh="备案", name_en="Filing", statutory_days=5, promised_days=1
    )
    r_own = actions.do_submit_request(
        admin, own, proc, description="请协助", submitted_on=dt.date(2026, 3, 2)
    )
    r_peer = actions.do_submit_request(
        admin, peer, proc, description="请协助", submitted_on=dt.date(2026, 3, 2)
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = b"%PDF-1.4 test"
    doc_own = actions.do_attach_document(
        users["enterprise"], SimpleUploadedFile("营业执照.pdf", pdf), step="request", request=r_own
    )
    doc_peer = actions.do_attach_document(
        admin, SimpleUploadedFile("申请表.pdf", pdf), step="request", request=r_peer
    )
    return {
        "doc_own": doc_own.pk,
        "doc_peer": doc_peer.pk,
        "c_own": c_own.pk,
        "c_peer": c_peer.pk,
        "c_foreign": c_foreign.pk,
        "d_own": d_own.pk,
        "d_peer": d_peer.pk,
        "result": result.pk,
        "p_own": project.pk,
        "p_peer": peer_project.pk,
        "r_own": r_own.pk,
        "r_peer": r_peer.pk,
    }


MATRIX = [
    ("/services/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/contracts/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/contracts/?export=xlsx", expect(302, 200, 200, 200, 200, 403)),
    ("/services/contracts/{c_own}/", expect(302, 200, 404, 200, 200, 403)),
    ("/services/contracts/{c_peer}/", expect(302, 200, 404, 200, 404, 403)),
    ("/services/contracts/{c_foreign}/", expect(302, 404, 200, 404, 404, 403)),
    ("/services/supply/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/supply/?export=csv", expect(302, 200, 200, 200, 200, 403)),
    ("/services/demands/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/demands/?export=xlsx", expect(302, 200, 200, 200, 200, 403)),
    ("/services/demands/{d_own}/", expect(302, 200, 404, 200, 200, 403)),
    ("/services/demands/{d_peer}/", expect(302, 200, 404, 200, 404, 403)),
    ("/services/results/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/results/?export=xlsx", expect(302, 200, 200, 200, 200, 403)),
    ("/services/results/{result}/", expect(302, 200, 404, 200, 404, 403)),
    ("/services/projects/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/projects/?export=xlsx", expect(302, 200, 200, 200, 200, 403)),
    ("/services/projects/?export=investments", expect(302, 200, 200, 200, 200, 403)),
    ("/services/projects/{p_own}/", expect(302, 200, 404, 200, 200, 403)),
    ("/services/projects/{p_peer}/", expect(302, 200, 404, 200, 404, 403)),
    ("/services/handling/", expect(302, 200, 200, 200, 200, 403)),
    ("/services/handling/?export=xlsx", expect(302, 200, 200, 200, 200, 403)),
    ("/services/handling/?export=procedures", expect(302, 200, 200, 200, 200, 403)),
    ("/services/handling/{r_own}/", expect(302, 200, 404, 200, 200, 403)),
    ("/services/handling/{r_peer}/", expect(302, 200, 404, 200, 404, 403)),
    ("/services/documents/{doc_own}/", expect(302, 200, 404, 200, 200, 403)),
    ("/services/documents/{doc_peer}/", expect(302, 200, 404, 200, 404, 403)),
    ("/api/services/contracts", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/contracts/{c_own}", expect(401, 200, 404, 200, 200, 404)),
    ("/api/services/contracts/{c_peer}", expect(401, 200, 404, 200, 404, 404)),
    ("/api/services/supply", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/demands", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/demands/{d_own}/candidates", expect(401, 200, 404, 200, 200, 404)),
    ("/api/services/demands/{d_peer}/candidates", expect(401, 200, 404, 200, 404, 404)),
    ("/api/services/matches", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/results", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/results/{result}", expect(401, 200, 404, 200, 404, 404)),
    ("/api/services/results/{result}/ledger", expect(401, 200, 404, 200, 404, 404)),
    ("/api/services/projects", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/projects/{p_own}", expect(401, 200, 404, 200, 200, 404)),
    ("/api/services/projects/{p_peer}", expect(401, 200, 404, 200, 404, 404)),
    ("/api/services/handling/{r_own}", expect(401, 200, 404, 200, 200, 404)),
    ("/api/services/handling/{r_peer}", expect(401, 200, 404, 200, 404, 404)),
    ("/api/services/procedures", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/handling", expect(401, 200, 200, 200, 200, 200)),
    ("/api/services/stats", expect(401, 200, 200, 200, 200, 200)),
]


@pytest.mark.parametrize("path,expected", MATRIX, ids=[p for p, _ in MATRIX])
def test_every_role_against_every_services_endpoint(client_for, world, path, expected):
    url = path.format(**world)
    for role, status in expected.items():
        response = client_for(role).get(url)
        assert response.status_code == status, f"{role} GET {url}: {response.status_code}"


def test_lists_hold_only_the_users_scope(client_for, world):
    as_firm = client_for("enterprise").get("/api/services/contracts").json()
    assert [c["id"] for c in as_firm["items"]] == [world["c_own"]]
    as_admin = client_for("admin").get("/api/services/contracts").json()
    assert {c["id"] for c in as_admin["items"]} == {world["c_own"], world["c_peer"]}
    assert client_for("bank").get("/api/services/contracts").json()["count"] == 0
    assert client_for("bank").get("/api/services/demands").json()["count"] == 0
    firm_demands = client_for("enterprise").get("/api/services/demands").json()
    assert [d["id"] for d in firm_demands["items"]] == [world["d_own"]]
    stats = client_for("enterprise").get("/api/services/stats").json()
    assert stats["contracts"]["count"] == 1 and stats["handling"]["requests"] == 1


def test_writes_are_refused_outside_the_role(client_for, world, zone):
    # supervisors and firms cannot register contracts; firms cannot take requests
    for role in ("supervisor", "enterprise", "bank"):
        r = client_for(role).post("/services/contracts/", {"registration_no": "Z"})
        assert r.status_code == 403, role
    r = client_for("enterprise").post(f"/services/handling/{world['r_own']}/", {"verb": "accept"})
    assert r.status_code == 403
    body = {
        "zone": "Z1",
        "registration_no": "N1",
        "registered_on": "2024-05-01",
        "title": "t",
        "type": "service",
        "seller_name": "s",
        "buyer_name": "b",
        "amount": 1,
    }
    assert (
        client_for("supervisor")
        .post("/api/services/contracts", body, content_type="application/json")
        .status_code
        == 403
    )
    assert (
        client_for("admin")
        .post("/api/services/contracts", body, content_type="application/json")
        .status_code
        == 201
    )
    again = client_for("admin").post(
        "/api/services/contracts", body, content_type="application/json"
    )
    assert again.status_code == 409 and "已存在" in again.json()["detail"]


def test_documents_are_checked_and_stored_privately(client_for, world):
    from django.core.files.uploadedfile import SimpleUploadedFile

    firm = client_for("enterprise")
    url = f"/services/handling/{world['r_own']}/"
    fake = SimpleUploadedFile("x.pdf", b"not a pdf")
    page = firm.post(url, {"document": fake}, follow=True).content.decode()
    assert "x.pdf" in page and "PDF" in page  # the refusal names the file and type
    firm.post(url, {"document": SimpleUploadedFile("图纸.png", b"\x89PNG\r\n\x1a\n....")})
    page = firm.get(url).content.decode()
    assert "图纸.png" in page
    body = firm.get(f"/services/documents/{world['doc_own']}/")
    assert body.status_code == 200 and b"".join(body.streaming_content) == b"%PDF-1.4 test"


def test_junk_form_values_never_break_a_page(client_for, world):
    admin = client_for("admin")
    assert admin.get("/services/contracts/?year=99999999999").status_code == 200
    assert admin.post("/services/supply/", {"toggle": "9" * 30}).status_code == 404
    assert admin.post(f"/services/demands/{world['d_own']}/", {"supply": "x"}).status_code == 404
    assert (
        admin.post(f"/services/demands/{world['d_own']}/", {"contract_match": "9" * 30}).status_code
        == 404
    )
    assert (
        admin.post(
            f"/services/results/{world['result']}/",
            {"step": "income_entry", "conversion": "9" * 30},
        ).status_code
        == 302
    )
    firm = client_for("enterprise")  # the same client, now logged in as the firm
    assert (
        firm.post("/services/handling/", {"procedure": "9" * 30, "description": "x"}).status_code
        == 302
    )
