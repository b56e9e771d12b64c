"""Every role against every pool page and API endpoint: allowed, forbidden, not found.

Rows are (method, path, {role: expected status}); `None` is the anonymous visitor. Pages
send anonymous visitors to the login page (302), the API answers 401. Supervisors read;
only admins of the zone write; enterprise users see only their own firm's results (API
and their enterprise page), bank users nothing; objects of another zone are 404.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import uscc
from tests.pools.helpers import RD_RULE, custom_pool

OWN = uscc(1)  # the enterprise user's firm (zone Z1)
PEER = uscc(2)  # another firm of Z1
FOREIGN = uscc(9)  # zone Z2
ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


PAGE_LIST = expect(302, 200, 200, 200, 403, 403)
PAGE_OBJECT = expect(302, 200, 404, 200, 403, 403)
PAGE_ADMIN = expect(302, 200, 404, 403, 403, 403)
API_LIST = expect(401, 200, 200, 200, 200, 200)
API_OBJECT = expect(401, 200, 404, 200, 404, 404)

OVERRIDE = {"uscc": PEER, "year": 2024, "action": "remove", "reason": "测试"}
SETTINGS = {"name_zh": "研发", "name_en": "R&D", "rule": '{">=": [{"field": "rd_intensity"}, 0.05]}',
            "order": 3, "active": "on"}  # fmt: skip
NEW = {**SETTINGS, "code": "new-pool", "zone": "{zone}"}

MATRIX = [
    ("get", "/pools/", PAGE_LIST, None),
    ("get", "/pools/?job={job}", PAGE_LIST, None),
    ("get", "/pools/new/", expect(302, 200, 200, 403, 403, 403), None),
    ("get", "/pools/{pool}/", PAGE_OBJECT, None),
    ("get", "/pools/{pool}/?year=2024&tab=near", PAGE_OBJECT, None),
    ("get", "/pools/{pool}/?export=xlsx", PAGE_OBJECT, None),
    ("get", "/pools/{pool}/?export=csv&tab=near&stage=growth", PAGE_OBJECT, None),
    ("get", "/pools/{pool}/movements/?year=2024", PAGE_OBJECT, None),
    ("get", "/pools/{pool}/overrides/", PAGE_OBJECT, None),
    ("get", "/pools/{pool}/settings/", PAGE_ADMIN, None),
    ("post", "/pools/", expect(302, 302, 200, 403, 403, 403), {"zone": "{zone}", "year": 2024}),
    ("post", "/pools/new/", expect(302, 302, 400, 403, 403, 403), NEW),
    ("post", "/pools/{pool}/overrides/", expect(302, 302, 404, 403, 403, 403), OVERRIDE),
    ("post", "/pools/{pool}/settings/", expect(302, 302, 404, 403, 403, 403), SETTINGS),
    (
        "post",
        "/pools/{pool}/overrides/{override}/delete/",
        expect(302, 302, 404, 403, 403, 403),
        {},
    ),
    ("get", f"/enterprises/{OWN}/", expect(302, 200, 404, 200, 200, 404), None),
    ("get", "/api/pools/pools", API_LIST, None),
    ("get", "/api/pools/pools/{pool}", API_OBJECT, None),
    ("get", "/api/pools/pools/{pool}/memberships", API_OBJECT, None),
    ("get", "/api/pools/pools/{pool}/memberships?year=2024&near=true&stage=x", API_OBJECT, None),
    ("get", f"/api/pools/firms/{OWN}", expect(401, 200, 404, 200, 200, 404), None),
    ("get", f"/api/pools/firms/{PEER}", expect(401, 200, 404, 200, 404, 404), None),
    ("get", f"/api/pools/firms/{FOREIGN}", expect(401, 404, 200, 404, 404, 404), None),
    ("get", "/api/pools/mine", expect(401, 404, 404, 404, 200, 404), None),
    ("get", f"/api/pools/firms/{OWN}/live?year=2024", expect(401, 200, 404, 200, 200, 404), None),
    ("get", f"/api/pools/firms/{PEER}/live?year=2024", expect(401, 200, 404, 200, 404, 404), None),
]


@pytest.fixture
def computed(users, zone):
    """A custom pool of Z1 computed for 2024, an override, and a job; by the Z1 admin."""
    from innopoints.enterprises.models import Enterprise
    from innopoints.jobs.tasks import start_job
    from innopoints.pools.actions import do_add_override, do_compute_pools
    from innopoints.pools.models import Pool

    admin = users["admin"]
    pool = custom_pool(zone, "rd", RD_RULE, actor=admin)
    do_compute_pools(admin, zone, 2024)
    override = do_add_override(
        admin, pool, Enterprise.objects.get(uscc=OWN), 2024, "add", "管委会决定"
    )
    job = start_job("pools", lambda progress: {"ok": True}, user=admin, zone=zone)
    assert Pool.objects.filter(zone=zone).count() == 1
    return {"pool": pool.pk, "override": override.pk, "job": job.pk, "zone": zone.pk}


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return ids["zone"] if value == "{zone}" else value


@pytest.mark.parametrize(
    "method,path,expected,data", MATRIX, ids=[f"{m} {p}" for m, p, _e, _d in MATRIX]
)
def test_every_role_against_every_pools_endpoint(
    client_for, computed, method, path, expected, data
):
    url = path.format(**computed)
    for role, status in expected.items():
        client = client_for(role)
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, _fill(data or {}, computed))
        assert response.status_code == status, f"{role} {method} {url}: {response.status_code}"


def test_api_shows_only_the_users_scope(client_for, computed):
    for role in ("enterprise", "bank", "other_admin"):
        assert client_for(role).get("/api/pools/pools").json()["count"] == 0
    assert client_for("supervisor").get("/api/pools/pools").json()["count"] == 1
    admin = client_for("admin")
    body = admin.get(f"/api/pools/pools/{computed['pool']}/memberships?member=all").json()
    assert body["count"] == 3
    assert {r["uscc"] for r in body["items"]} == {OWN, PEER, uscc(3)}
    mine = client_for("enterprise").get("/api/pools/mine").json()
    assert mine["uscc"] == OWN and mine["year"] == 2024
    [row] = mine["pools"]
    assert row["member"] is True and row["source"] == "override" and row["computed_member"] is False
    assert row["near_miss"] and mine["near_misses"] == []  # a member through the override
    near = (
        client_for("admin").get(f"/api/pools/pools/{computed['pool']}/memberships?near=true").json()
    )
    assert near["count"] == 0  # firm 1 is in by override


def test_live_evaluation_matches_the_stored_computation(client_for, computed):
    live = client_for("admin").get(f"/api/pools/firms/{PEER}/live?year=2024").json()
    stored = client_for("admin").get(f"/api/pools/firms/{PEER}?year=2024").json()
    assert [(r["pool"], r["status"]) for r in live] == [
        (r["pool"], r["status"]) for r in stored["pools"]
    ]
    assert live[0]["status"] == "eligible" and "研发" in live[0]["reasons"]
    from innopoints.pools.api import LiveOut

    for item in live:  # served without re-validation: the declared shape still holds
        declared = LiveOut.model_validate(item).model_dump(mode="json")
        assert json.dumps(declared, sort_keys=True) == json.dumps(item, sort_keys=True)


def test_stored_results_are_served_in_the_declared_shape(client_for, computed):
    from innopoints.pools.api import FirmPoolsOut

    for role, url in (
        ("admin", f"/api/pools/firms/{PEER}?year=2024"),
        ("enterprise", "/api/pools/mine"),
    ):
        body = client_for(role).get(url).json()
        assert body["pools"], url
        # compared as JSON text, so that 1 for true or "1" for 1 would show
        declared = FirmPoolsOut.model_validate(body).model_dump(mode="json")
        assert json.dumps(declared, sort_keys=True) == json.dumps(body, sort_keys=True)


def test_enterprise_page_shows_the_firms_pools(client_for, computed):
    page = client_for("enterprise").get(f"/enterprises/{OWN}/").content.decode()
    assert 'id="firm-pools"' in page and "测试rd" in page and "管委会决定" in page


def test_firm_rows_index_gives_the_same_rows_as_filtering(computed, zone):
    import polars as pl

    from innopoints.enterprises.panel import firm_rows, zone_derived

    derived = zone_derived(zone)
    for code in [*derived["uscc"].unique().to_list(), "91000000000000000X"]:
        expected = derived.filter(pl.col("uscc") == code).sort("year")
        assert firm_rows(zone, code).sort("year").equals(expected)
    assert firm_rows(zone, "91000000000000000X").is_empty()


def test_pool_results_are_utf8_json_and_live_results_follow_a_pool_edit(client_for, computed):
    from innopoints.pools.actions import do_update_pool
    from innopoints.pools.models import Pool

    admin = client_for("admin")
    response = admin.get(f"/api/pools/firms/{PEER}/live?year=2024")
    assert "研发".encode() in response.content and b"\\u" not in response.content
    assert response["Content-Type"].startswith("application/json")
    stored = admin.get(f"/api/pools/firms/{PEER}?year=2024")
    assert "测试rd".encode() in stored.content and b"\\u" not in stored.content
    assert response.json()[0]["status"] == "eligible"
    again = admin.get(f"/api/pools/firms/{PEER}/live?year=2024").json()
    assert again == response.json()  # the cached compilation gives the same results
    pool = Pool.objects.get(pk=computed["pool"])
    assert do_update_pool(None, pool, rule={">=": [{"field": "rd_intensity"}, 0.9]})
    edited = admin.get(f"/api/pools/firms/{PEER}/live?year=2024").json()
    assert edited[0]["status"] == "ineligible" and "90" in edited[0]["reasons"]
