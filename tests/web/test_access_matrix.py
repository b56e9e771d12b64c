"""Every role against every page and endpoint: allowed, forbidden, or not found.

Rows are (path, {role: expected status}); `None` is the anonymous visitor. A page that
needs login sends anonymous visitors to the login page (302); the API answers 401.
An enterprise outside a user's scope is 404, so its existence is not revealed.
"""

from __future__ import annotations

import pytest

from tests.conftest import uscc

OWN = uscc(1)  # in zone Z1, the enterprise user's firm
PEER = uscc(2)  # in zone Z1, not the enterprise user's firm
FOREIGN = uscc(9)  # in zone Z2

ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


MATRIX = [
    ("/healthz", expect(200, 200, 200, 200, 200, 200)),
    ("/", expect(302, 302, 302, 302, 302, 200)),
    ("/enterprises/", expect(302, 200, 200, 200, 403, 403)),
    ("/enterprises/?export=xlsx", expect(302, 200, 200, 200, 403, 403)),
    (f"/enterprises/{OWN}/", expect(302, 200, 404, 200, 200, 404)),
    (f"/enterprises/{PEER}/", expect(302, 200, 404, 200, 404, 404)),
    (f"/enterprises/{FOREIGN}/", expect(302, 404, 200, 404, 404, 404)),
    ("/imports/", expect(302, 200, 200, 403, 403, 403)),
    ("/imports/{batch}/", expect(302, 200, 404, 404, 404, 404)),
    ("/imports/{batch}/report.xlsx", expect(302, 200, 404, 404, 404, 404)),
    ("/export/", expect(302, 200, 200, 200, 403, 403)),
    ("/export/?zone={zone}&format=xlsx&headers=zh", expect(302, 200, 200, 200, 403, 403)),
    ("/audit/", expect(302, 200, 200, 403, 403, 403)),
    ("/jobs/{job}/", expect(302, 200, 404, 404, 404, 404)),
    ("/zones/", expect(302, 302, 302, 403, 403, 403)),
    ("/zones/Z1/", expect(302, 200, 404, 404, 404, 404)),
    ("/api/zones", expect(401, 200, 200, 200, 200, 200)),
    ("/api/enterprises", expect(401, 200, 200, 200, 200, 200)),
    (f"/api/enterprises/{OWN}", expect(401, 200, 404, 200, 200, 404)),
    (f"/api/enterprises/{FOREIGN}", expect(401, 404, 200, 404, 404, 404)),
    ("/api/openapi.json", expect(200, 200, 200, 200, 200, 200)),
]


@pytest.fixture
def placeholders(users, zone, tmp_path):
    """An import batch with a report and a job, both made by the Z1 admin."""
    from innopoints.enterprises.models import ImportBatch
    from innopoints.jobs.tasks import start_job

    report = tmp_path / "report.xlsx"
    report.write_bytes(b"PK\x03\x04 placeholder")
    batch = ImportBatch.objects.create(
        zone=zone, file_name="x.xlsx", sha256="1" * 64, mode="strict", report_path=str(report)
    )
    job = start_job("import", lambda progress: {"ok": True}, user=users["admin"], zone=zone)
    return {"batch": batch.pk, "job": job.pk, "zone": zone.pk}


@pytest.mark.parametrize("path,expected", MATRIX, ids=[p for p, _ in MATRIX])
def test_every_role_against_every_endpoint(client_for, placeholders, path, expected):
    url = path.format(**placeholders)
    for role, status in expected.items():
        response = client_for(role).get(url)
        assert response.status_code == status, f"{role} GET {url}: {response.status_code}"


def test_lists_show_only_the_users_scope(client_for, firms):
    as_admin = client_for("admin").get("/api/enterprises").json()
    assert {e["uscc"] for e in as_admin["items"]} == {uscc(1), uscc(2), uscc(3)}
    as_other = client_for("other_admin").get("/api/enterprises").json()
    assert {e["uscc"] for e in as_other["items"]} == {FOREIGN}
    as_firm = client_for("enterprise").get("/api/enterprises").json()
    assert [e["uscc"] for e in as_firm["items"]] == [OWN]
    assert client_for("bank").get("/api/enterprises").json()["count"] == 0
    page = client_for("admin").get("/enterprises/").content.decode()
    assert uscc(2) in page and FOREIGN not in page


def test_supervisor_cannot_import(client_for, zone):
    response = client_for("supervisor").post("/imports/", {"zone": zone.pk})
    assert response.status_code == 403


def test_home_sends_each_role_to_its_page(client_for):
    assert client_for("admin").get("/")["Location"] == "/enterprises/"
    assert client_for("enterprise").get("/")["Location"] == f"/enterprises/{OWN}/"
    assert client_for(None).get("/")["Location"].startswith("/accounts/login/")
