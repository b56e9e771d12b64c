"""Every role against every scoring page and API endpoint: allowed, forbidden, not found.

Rows are (method, path, {role: expected status}); `None` is the anonymous visitor. Pages
send anonymous visitors to the login page (302), the API answers 401. Enterprise and
bank users see nothing of scoring yet: 403 on pages, empty lists or 404 in the API.
Objects of another zone are 404.
"""

from __future__ import annotations

import pytest

from tests.conftest import uscc
from tests.scoring.helpers import TINY_MODEL, TINY_MODEL_V2

OWN = uscc(1)
ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


PAGE_LIST = expect(302, 200, 200, 200, 403, 403)
PAGE_OBJECT = expect(302, 200, 404, 200, 403, 403)
API_LIST = expect(401, 200, 200, 200, 200, 200)
API_OBJECT = expect(401, 200, 404, 200, 404, 404)

MATRIX = [
    ("get", "/scoring/", PAGE_LIST),
    ("get", "/scoring/?job={job}", PAGE_LIST),
    ("get", "/scoring/models/", PAGE_LIST),
    ("get", "/scoring/models/{version}/", PAGE_OBJECT),
    ("get", "/scoring/models/diff/?a={version}&b={version2}", PAGE_OBJECT),
    ("get", "/scoring/runs/{run}/", PAGE_OBJECT),
    ("get", "/scoring/runs/{run}/?export=xlsx", PAGE_OBJECT),
    ("get", "/scoring/runs/{run}/?export=csv&stage=growth", PAGE_OBJECT),
    ("get", f"/scoring/runs/{{run}}/firms/{OWN}/", PAGE_OBJECT),
    ("get", "/scoring/runs/compare/?a={run}&b={run2}", PAGE_OBJECT),
    ("get", "/scoring/external/", PAGE_LIST),
    ("post", "/scoring/models/{version}/activate/", expect(302, 302, 404, 403, 403, 403)),
    ("post", "/scoring/", expect(302, 302, 200, 403, 403, 403)),
    ("post", "/scoring/models/", expect(302, 200, 200, 403, 403, 403)),
    ("post", "/scoring/external/", expect(302, 200, 200, 403, 403, 403)),
    ("get", "/api/scoring/models", API_LIST),
    ("get", "/api/scoring/models/{version}", API_OBJECT),
    ("get", "/api/scoring/runs", API_LIST),
    ("get", "/api/scoring/runs/{run}", API_OBJECT),
    ("get", "/api/scoring/runs/{run}/results", API_OBJECT),
    ("get", "/api/scoring/runs/{run}/results?stage=growth&band=none", API_OBJECT),
    ("get", f"/api/scoring/runs/{{run}}/firms/{OWN}", API_OBJECT),
    ("get", "/api/scoring/external", API_LIST),
]


@pytest.fixture
def scored(users, zone):
    """Two runs of zone Z1 (3 firms), two model versions, one external score; by the Z1 admin."""
    from innopoints.scoring.actions import (
        do_activate_model_version,
        do_import_external_scores,
        do_start_scoring_run,
        do_upload_model_version,
    )

    admin = users["admin"]
    version, _ = do_upload_model_version(admin, zone, TINY_MODEL)
    version2, _ = do_upload_model_version(admin, zone, TINY_MODEL_V2)
    do_activate_model_version(admin, zone, 2024, version)
    run = do_start_scoring_run(admin, zone, 2024)
    do_activate_model_version(admin, zone, 2024, version2)
    run2 = do_start_scoring_run(admin, zone, 2024)
    assert run.status == run2.status == "done", run.error
    do_import_external_scores(
        admin, zone, f"uscc,year,points\n{OWN},2024,50\n".encode(), file_name="x.csv", source="n"
    )
    return {
        "version": version.pk,
        "version2": version2.pk,
        "run": run.pk,
        "run2": run2.pk,
        "job": run.job_id,
        "zone": zone.pk,
    }


@pytest.mark.parametrize("method,path,expected", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_every_role_against_every_scoring_endpoint(client_for, scored, method, path, expected):
    url = path.format(**scored)
    for role, status in expected.items():
        client = client_for(role)
        response = (
            client.get(url)
            if method == "get"
            else client.post(url, {"year": 2024, "zone": scored["zone"]})
        )
        assert response.status_code == status, f"{role} {method} {url}: {response.status_code}"


def test_api_lists_show_only_the_users_scope(client_for, scored):
    for role in ("enterprise", "bank", "other_admin"):
        client = client_for(role)
        for path in ("/api/scoring/models", "/api/scoring/runs", "/api/scoring/external"):
            body = client.get(path).json()
            assert body["count"] == 0, (role, path)
    admin = client_for("admin")
    runs = admin.get("/api/scoring/runs").json()
    assert {r["id"] for r in runs["items"]} == {scored["run"], scored["run2"]}
    results = admin.get(f"/api/scoring/runs/{scored['run']}/results").json()
    assert results["count"] == 3 and results["items"][0]["rank_zone"] == 1
    assert set(results["items"][0]["indicator_points"]) == {"rd", "patents", "revenue", "staff"}
    explanation = admin.get(f"/api/scoring/runs/{scored['run']}/firms/{OWN}").json()
    assert explanation["data_changed"] is False
    assert explanation["recomputed_run_hash"] == explanation["stored_run_hash"]
    assert {r["item"] for r in explanation["indicators"]} == {"rd", "patents", "revenue", "staff"}
    external = client_for("supervisor").get("/api/scoring/external?year=2024").json()
    assert external["items"] == [
        {"zone": "Z1", "year": 2024, "uscc": OWN, "source": "n", "points": 50.0, "rank": None}
    ]
    model = admin.get(f"/api/scoring/models/{scored['version']}").json()
    assert model["model_id"] == "tiny" and model["document"]["id"] == "tiny"
    assert model["activated_years"] == []  # version 2 is active for 2024 now


def test_supervisor_reads_but_cannot_write(client_for, scored, zone):
    client = client_for("supervisor")
    assert client.get(f"/scoring/runs/{scored['run']}/").status_code == 200
    assert client.post("/scoring/", {"zone": zone.pk, "year": 2024}).status_code == 403
    page = client.get(f"/scoring/models/{scored['version']}/").content.decode()
    assert 'id="activate-form"' not in page


def test_other_zone_admin_cannot_start_a_run_in_zone_z1(client_for, scored, zone):
    from innopoints.scoring.models import ScoringRun

    before = ScoringRun.objects.count()
    response = client_for("other_admin").post("/scoring/", {"zone": zone.pk, "year": 2024})
    assert response.status_code == 200  # the form refuses a zone outside the choices
    assert ScoringRun.objects.count() == before
