"""Every role against every policy page and API endpoint: allowed, forbidden, not found.

Rows are (method, path, {role: expected status}); `None` is the anonymous visitor. Pages
send anonymous visitors to the login page (302), the API answers 401. Supervisors read;
only admins of the zone write; enterprise users see their zone's published policies and
their own firm's results, applications, payouts; bank users nothing; objects of another
zone are 404.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.conftest import uscc
from tests.policies.helpers import entry, published

OWN = uscc(1)
PEER = uscc(2)
FOREIGN = uscc(9)
ROLES = [None, "admin", "other_admin", "supervisor", "enterprise", "bank"]


def expect(anon, admin, other_admin, supervisor, enterprise, bank):
    return dict(zip(ROLES, (anon, admin, other_admin, supervisor, enterprise, bank), strict=True))


CATALOGUE = expect(302, 200, 200, 200, 200, 403)
OBJECT = expect(302, 200, 404, 200, 200, 404)
ADMIN_ONLY = expect(302, 200, 404, 403, 403, 404)
ZONE_ADMIN_PAGE = expect(302, 200, 200, 403, 403, 403)
API_LIST = expect(401, 200, 200, 200, 200, 200)
API_OBJECT = expect(401, 200, 404, 200, 200, 404)

MATRIX = [
    ("get", "/policies/", CATALOGUE),
    ("get", "/policies/{policy}/", OBJECT),
    ("get", "/policies/{policy}/?tab=near", OBJECT),
    ("get", "/policies/{policy}/?tab=eligible&export=xlsx", OBJECT),
    ("get", "/policies/{draft_only}/", expect(302, 200, 404, 200, 404, 404)),
    ("get", "/policies/{policy}/edit/", ADMIN_ONLY),
    ("get", "/policies/{policy}/sandbox/", expect(302, 200, 404, 200, 403, 403)),
    ("get", "/policies/new/", ZONE_ADMIN_PAGE),
    ("get", "/policies/import/", ZONE_ADMIN_PAGE),
    ("get", "/policies/export/", expect(302, 200, 200, 200, 403, 403)),
    ("get", "/policies/export/?format=yaml", expect(302, 200, 200, 200, 403, 403)),
    ("get", "/policies/mine/", expect(302, 403, 403, 403, 200, 403)),
    ("get", f"/policies/firms/{OWN}/", OBJECT),
    ("get", f"/policies/firms/{PEER}/", expect(302, 200, 404, 200, 404, 404)),
    ("get", f"/policies/firms/{FOREIGN}/", expect(302, 404, 200, 404, 404, 404)),
    ("get", "/policies/applications/", CATALOGUE),
    ("get", "/policies/applications/?status=overdue", CATALOGUE),
    ("get", "/policies/applications/{application}/", OBJECT),
    ("get", "/policies/attachments/{attachment}/", OBJECT),
    ("get", "/policies/batches/{batch}/", OBJECT),
    ("get", "/policies/batches/{proposed}/", expect(302, 200, 404, 200, 404, 404)),
    ("get", "/policies/{talent}/apply/", expect(302, 403, 404, 403, 200, 404)),
    ("get", "/inbox/", expect(302, 200, 200, 200, 200, 200)),
    ("post", "/policies/{policy}/publish/", expect(302, 302, 404, 403, 403, 404)),
    ("post", "/policies/{policy}/retire/", expect(302, 302, 404, 403, 404, 404)),  # then hidden
    ("post", "/policies/match/", expect(302, 302, 302, 403, 403, 403)),
    ("post", "/policies/{talent}/batches/", expect(302, 302, 404, 403, 403, 404)),
    ("post", "/policies/applications/{application}/", expect(302, 302, 404, 403, 403, 404)),
    ("post", "/inbox/read-all/", expect(302, 302, 302, 302, 302, 302)),
    ("get", "/api/policies/policies", API_LIST),
    ("get", "/api/policies/policies/{policy}", API_OBJECT),
    ("get", "/api/policies/policies/{policy}/matches", API_OBJECT),
    ("get", f"/api/policies/firms/{OWN}", API_OBJECT),
    ("get", f"/api/policies/firms/{PEER}", expect(401, 200, 404, 200, 404, 404)),
    ("get", "/api/policies/mine", expect(401, 404, 404, 404, 200, 404)),
    ("get", "/api/policies/applications", API_LIST),
    ("get", "/api/policies/applications/{application}", API_OBJECT),
    ("get", "/api/policies/payouts", API_LIST),
    ("get", "/api/policies/batches/{batch}", expect(401, 200, 404, 200, 404, 404)),
    ("get", "/api/inbox/notifications", API_LIST),
    ("get", "/api/inbox/unread", API_LIST),
]


@pytest.fixture
def world(users, zone, settings, tmp_path):
    """Z1: a published no-application policy with an approved and a proposed batch, an
    application-mode policy with the enterprise user's application (and a PDF), and a
    policy that has only a draft."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from innopoints.policies.actions import (
        do_approve_batch,
        do_create_policy,
        do_propose_batch,
        do_submit_application,
    )

    settings.PRIVATE_FILES_DIR = tmp_path
    admin = users["admin"]
    policy = published(zone, admin).policy
    batch = do_propose_batch(admin, policy, "2023")
    do_approve_batch(admin, batch, today=dt.date(2026, 6, 1))
    proposed = do_propose_batch(admin, policy, "2024")
    talent = published(zone, admin, code="talent", mode="application",
                       rule={">=": [{"field": "rd_expense"}, 50]}).policy  # fmt: skip
    app = do_submit_application(
        users["enterprise"], talent, "2024",
        files=[SimpleUploadedFile("a.pdf", b"%PDF-1.4 x")],
        now=timezone.make_aware(dt.datetime(2026, 6, 1, 9)),
    )  # fmt: skip
    draft_only = do_create_policy(admin, zone, entry(code="draft-only")).policy
    return {"policy": policy.pk, "talent": talent.pk, "batch": batch.pk, "proposed": proposed.pk,
            "application": app.pk, "attachment": app.attachments.get().pk,
            "draft_only": draft_only.pk}  # fmt: skip


@pytest.mark.parametrize("method,path,expected", MATRIX, ids=[f"{m} {p}" for m, p, _e in MATRIX])
def test_every_role_against_every_policies_endpoint(client_for, world, method, path, expected):
    url = path.format(**world)
    data = {"period": "2022", "shortfall_rule": "pro_rata", "objection_days": 5, "do": "accept"}
    for role, status in expected.items():
        client = client_for(role)
        response = client.get(url) if method == "get" else client.post(url, data)
        assert response.status_code == status, f"{role} {method} {url}: {response.status_code}"


def test_api_shows_only_the_users_scope(client_for, world):
    assert client_for("bank").get("/api/policies/policies").json()["count"] == 0
    assert client_for("other_admin").get("/api/policies/policies").json()["count"] == 0
    assert client_for("admin").get("/api/policies/policies").json()["count"] == 3
    # the enterprise user sees the published policies only, and only its own results
    assert client_for("enterprise").get("/api/policies/policies").json()["count"] == 2
    rows = client_for("enterprise").get(f"/api/policies/policies/{world['policy']}/matches").json()
    assert [r["uscc"] for r in rows["items"]] == [OWN]
    admin_rows = client_for("admin").get(f"/api/policies/policies/{world['policy']}/matches").json()
    assert admin_rows["count"] == 3
    assert client_for("bank").get("/api/policies/applications").json()["count"] == 0
    payouts = client_for("enterprise").get("/api/policies/payouts").json()
    assert payouts["count"] == 0  # firm 1 is not eligible for the R&D subsidy


def test_attachment_is_served_only_from_private_storage(client_for, world, settings):
    response = client_for("admin").get(f"/policies/attachments/{world['attachment']}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 x"
    assert response["Cache-Control"] == "private, no-store"
    assert not str(settings.PRIVATE_FILES_DIR).startswith(str(settings.STATIC_ROOT))
