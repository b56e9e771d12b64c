"""Policies API writes with tokens: propose and approve a batch, submit an application
with an attachment, review steps; errors answer the API's error body."""

from __future__ import annotations

import pytest

from tests.api.conftest import bearer, make_token
from tests.conftest import uscc
from tests.policies.helpers import published

pytestmark = pytest.mark.django_db


def test_batch_and_application_through_the_api(client, users, zone, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.PRIVATE_FILES_DIR = tmp_path
    admin = bearer(make_token(users["admin"]))
    firm = bearer(make_token(users["enterprise"]))
    sup = bearer(make_token(users["supervisor"]))
    v = published(zone, users["admin"])
    url = f"/api/policies/policies/{v.policy_id}/batches"
    body = {"period": "2024", "shortfall_rule": "by_rank"}
    assert client.post(url, body, content_type="application/json", **sup).status_code == 403
    r = client.post(url, body, content_type="application/json", **admin)
    assert r.status_code == 201, r.content
    batch = r.json()
    assert [line["uscc"] for line in batch["lines"]] == [uscc(3), uscc(2)]  # by amount
    again = client.post(url, body, content_type="application/json", **admin)
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    ok = client.post(f"/api/policies/batches/{batch['id']}/approve", **admin)
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert client.get("/api/policies/payouts", **admin).json()["count"] == 2

    talent = published(zone, users["admin"], code="talent", mode="application",
                       rule={">=": [{"field": "rd_expense"}, 50]})  # fmt: skip
    pdf = SimpleUploadedFile("证明.pdf", b"%PDF-1.4 api")
    r = client.post("/api/policies/applications",
                    {"policy": talent.policy_id, "period": "2024", "files": [pdf]}, **firm)  # fmt: skip
    if r.status_code == 201:
        app = r.json()
        assert app["attachments"] == ["证明.pdf"] and app["status"] == "submitted"
        step = f"/api/policies/applications/{app['id']}/accept"
        assert client.post(step, {}, content_type="application/json", **firm).status_code == 403
        r2 = client.post(step, {}, content_type="application/json", **admin)
        assert r2.status_code == 200 and r2.json()["status"] == "accepted"
        r3 = client.post(step, {}, content_type="application/json", **admin)
        assert r3.status_code == 409
    else:  # the calendar does not cover the year of today's date: the error says so
        assert r.status_code == 400, r.content
    mine = client.get("/api/policies/mine", **firm).json()
    assert mine["uscc"] == uscc(1)
    assert [m["policy"] for m in mine["eligible"]] == ["talent"]
    assert mine["near_misses"][0]["policy"] == "rd-subsidy"
    assert "研发费用" in mine["near_misses"][0]["near_miss"]
