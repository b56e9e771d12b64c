"""Every role against every portal page and API endpoint: allowed, forbidden, not found.

Rows are (method, path, {role: expected status}); `None` is the anonymous visitor. Pages
send anonymous visitors to the login page (302), the API answers 401. Objects of another
zone are 404; pages a role does not use are 403; API lists are empty for such roles.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import uscc
from tests.portal.portal_helpers import PDF, score_years

OWN = uscc(1)
ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


PAGE_LIST = expect(302, 200, 200, 200, 403, 403)
PAGE_ZONE = expect(302, 200, 404, 200, 403, 403)
API_LIST = expect(401, 200, 200, 200, 200, 200)

MATRIX = [
    ("get", "/portal/", PAGE_LIST),
    ("get", "/portal/?zone={zone}&year=2024", PAGE_ZONE),
    ("get", "/portal/?zone={zone}&year=2024&table=stages&export=csv", PAGE_ZONE),
    ("get", "/portal/?zone={zone}&year=2024&table=completeness&export=xlsx", PAGE_ZONE),
    ("get", "/portal/rankings/", PAGE_LIST),
    ("get", "/portal/rankings/?zone={zone}&year=2024&scope=stage", PAGE_ZONE),
    ("get", "/portal/rankings/?zone={zone}&year=2024&export=xlsx", PAGE_ZONE),
    ("get", "/portal/rankings/?zone={zone}&year=2024&export=csv&band=none", PAGE_ZONE),
    ("post", "/portal/publish/", expect(302, 302, 404, 403, 403, 403)),
    ("get", "/portal/publications/", PAGE_LIST),
    ("get", "/portal/publications/{pub}/", PAGE_ZONE),
    ("get", "/portal/publications/{pub}/?export=csv&scope=industry", PAGE_ZONE),
    ("post", "/portal/publications/{pub}/object/", expect(302, 403, 403, 403, 302, 403)),
    ("get", "/portal/my-ranking/", expect(302, 403, 403, 403, 200, 403)),
    ("get", "/portal/objections/", expect(302, 200, 200, 403, 403, 403)),
    ("get", "/portal/objections/?overdue=1&export=csv", expect(302, 200, 200, 403, 403, 403)),
    ("get", "/portal/objections/{obj}/", expect(302, 200, 404, 403, 200, 403)),
    ("post", "/portal/objections/{obj}/resolve/", expect(302, 302, 404, 403, 403, 403)),
    ("get", "/portal/attachments/{att}/", expect(302, 200, 404, 404, 200, 404)),
    ("get", "/api/portal/rankings", API_LIST),
    ("get", "/api/portal/rankings?zone=Z1&year=2024&scope=industry&band=none", API_LIST),
    ("get", "/api/portal/publications", API_LIST),
    ("get", "/api/portal/publications/{pub}", expect(401, 200, 404, 200, 200, 404)),
    ("get", "/api/portal/publications/{pub}/placements", expect(401, 200, 404, 200, 200, 404)),
    ("get", "/api/portal/my-placements", API_LIST),
    ("get", "/api/portal/objections", API_LIST),
    ("get", "/api/portal/objections?overdue=true&status=open", API_LIST),
    ("get", "/api/portal/objections/{obj}", expect(401, 200, 404, 404, 200, 404)),
    ("post", "/api/portal/publications", expect(401, 201, 404, 403, 404, 404)),
    ("post", "/api/portal/objections", expect(401, 403, 403, 403, 400, 403)),
    ("post", "/api/portal/objections/{obj}/resolve", expect(401, 200, 404, 404, 403, 404)),
]


@pytest.fixture
def portal(users, zone):
    """A 2024 run of Z1, its publication, and an objection with an attachment by firm 1."""
    from innopoints.portal.actions import FileUpload, do_file_objection, do_publish_ranking

    run = score_years(zone, users["admin"])[2024]
    publication = do_publish_ranking(users["admin"], run)
    objection = do_file_objection(
        users["enterprise"], publication, "reason", [FileUpload("a.pdf", PDF)]
    )
    return {
        "zone": zone.pk,
        "run": run.pk,
        "pub": publication.pk,
        "obj": objection.pk,
        "att": objection.attachments.get().pk,
    }


def _post(client, url: str, ids: dict):
    if url.startswith("/api/portal/publications"):
        return client.post(url, json.dumps({"run": ids["run"]}), content_type="application/json")
    if url.endswith("/resolve"):
        body = json.dumps({"decision": "reject", "note": "数据无误"})
        return client.post(url, body, content_type="application/json")
    if url == "/api/portal/objections":
        return client.post(url, {"publication": ids["pub"], "reason": "again"})
    if url.endswith("/object/"):
        return client.post(url, {f"p{ids['pub']}-reason": "again"})
    if url.endswith("/resolve/"):
        return client.post(url, {"decision": "reject", "note": "数据无误"})
    return client.post(url, {"run": ids["run"], "objection_days": 5})


@pytest.mark.parametrize("method,path,expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_every_role_against_every_portal_endpoint(client_for, portal, method, path, expected):
    url = path.format(**portal)
    for role, status in expected.items():
        client = client_for(role)
        response = client.get(url) if method == "get" else _post(client, url, portal)
        assert response.status_code == status, f"{role} {method} {url}: {response.status_code}"


def test_api_lists_show_only_the_users_scope(client_for, portal):
    for role in ("bank", "other_admin"):
        client = client_for(role)
        for path in ("/api/portal/publications", "/api/portal/objections"):
            assert client.get(path).json()["count"] == 0, (role, path)
        assert client.get("/api/portal/my-placements").json() == []
    for role in ("enterprise", "bank"):
        assert client_for(role).get("/api/portal/rankings").json()["count"] == 0
    admin = client_for("admin")
    ranking = admin.get("/api/portal/rankings?zone=Z1&year=2024").json()
    assert ranking["count"] == 3 and ranking["items"][0]["rank_zone"] == 1
    assert ranking["items"][0]["run"] == portal["run"]
    firm = client_for("enterprise")
    rows = firm.get(f"/api/portal/publications/{portal['pub']}/placements").json()
    assert [r["uscc"] for r in rows["items"]] == [OWN]
    mine = firm.get("/api/portal/my-placements").json()
    assert [(m["uscc"], m["publication"]["id"]) for m in mine] == [(OWN, portal["pub"])]
    assert mine[0]["publication"]["objections_open"] is True
    objections = firm.get("/api/portal/objections").json()
    assert [o["id"] for o in objections["items"]] == [portal["obj"]]
    assert (
        objections["items"][0]["attachments"][0]["url"] == f"/portal/attachments/{portal['att']}/"
    )
    sup = client_for("supervisor").get(f"/api/portal/publications/{portal['pub']}/placements")
    assert sup.json()["count"] == 3
    assert client_for("supervisor").get("/api/portal/objections").json()["count"] == 0


def test_api_objection_errors_have_codes(client_for, users, portal):
    from innopoints.portal.actions import do_resolve_objection
    from innopoints.portal.models import Objection

    firm = client_for("enterprise")
    body = firm.post(
        "/api/portal/objections", {"publication": portal["pub"], "reason": "again"}
    ).json()
    assert body["code"] == "already_open"
    do_resolve_objection(
        users["admin"], Objection.objects.get(pk=portal["obj"]), accept=False, note="no"
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("a.exe", b"MZ")
    response = firm.post(
        "/api/portal/objections", {"publication": portal["pub"], "reason": "r", "files": [bad]}
    )
    assert response.status_code == 400 and response.json()["code"] == "attachment_type"
    ok = SimpleUploadedFile("a.pdf", PDF)
    response = firm.post(
        "/api/portal/objections", {"publication": portal["pub"], "reason": "r2", "files": [ok]}
    )
    assert response.status_code == 201, response.content
    assert response.json()["attachments"][0]["name"] == "a.pdf"
    resolved = client_for("admin").post(
        f"/api/portal/objections/{portal['obj']}/resolve",
        json.dumps({"decision": "accept", "note": "x"}),
        content_type="application/json",
    )
    assert resolved.status_code == 400 and resolved.json()["code"] == "already_resolved"
