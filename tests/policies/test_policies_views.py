"""Policy pages: create, edit and publish through the form; import with row errors;
the firm page with eligible, near-miss and unknown policies; the sandbox; the batch."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import uscc
from tests.policies.helpers import entry, published

pytestmark = pytest.mark.django_db


def _form(**extra):
    data = {k: v for k, v in entry(**extra).items()}
    data["rule"] = yaml.safe_dump(data["rule"])
    data["amount"] = yaml.safe_dump(data["amount"])
    data["effective_from"] = "2024-01-01"
    return data


def test_create_edit_publish_through_the_pages(client_for, zone, firms):
    from innopoints.policies.models import Policy, PolicyMatch

    admin = client_for("admin")
    bad = admin.post("/policies/new/", _form(rule="{>=: [{field: rd_expens}, 1]}"))
    assert bad.status_code == 400
    assert "rd_expens" in bad.content.decode()
    r = admin.post("/policies/new/", _form())
    assert r.status_code == 302
    policy = Policy.objects.get()
    r = admin.post(f"/policies/{policy.pk}/edit/", {**_form(budget=50), "publish": "1"})
    assert r.status_code == 302
    assert policy.published().budget == 50
    assert PolicyMatch.objects.filter(policy=policy, status="eligible").count() == 2
    page = admin.get(f"/policies/{policy.pk}/").content.decode()
    assert "研发费用≥100万元" in page.replace(" ", "") or "研发费用" in page


def test_import_page_reports_rows(client_for, zone):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from innopoints.policies.catalogue import write_yaml

    text = write_yaml([entry(), entry(code="x", mode="maybe")])
    upload = SimpleUploadedFile("p.yaml", text.encode())
    r = client_for("admin").post("/policies/import/", {"file": upload})
    assert r.status_code == 400
    body = r.content.decode()
    assert "maybe" in body and "免申即享" in body
    good = SimpleUploadedFile("p.yaml", write_yaml([entry()]).encode())
    r = client_for("admin").post("/policies/import/", {"file": good, "publish": "on"})
    assert r.status_code == 200


def test_firm_page_lists_eligible_near_and_unknown(client_for, zone, firms):
    published(zone, None, code="talent", mode="application",
              rule={">=": [{"field": "rd_expense"}, 50]})  # fmt: skip
    published(zone, None)  # firm 1 lacks 40万 of R&D
    published(zone, None, code="exports", rule={">": [{"field": "export_revenue"}, 0]})
    page = client_for("enterprise").get("/policies/mine/").content.decode()
    eligible, rest = page.split('id="near"', 1)
    near, unknown = rest.split('id="unknown"', 1)
    assert "研发费用补助" in eligible and "/apply/" in eligible
    assert "+40" in near
    assert "出口额" in unknown  # the data to provide, by name
    admin_view = client_for("admin").get(f"/policies/firms/{uscc(1)}/")
    assert admin_view.status_code == 200


def test_sandbox_page(client_for, zone, firms):
    from innopoints.policies.actions import do_save_draft

    v = published(zone, None)
    do_save_draft(None, v.policy, {"rule": {">=": [{"field": "rd_expense"}, 10]}})
    page = client_for("supervisor").get(f"/policies/{v.policy_id}/sandbox/").content.decode()
    assert 'id="gained"' in page and uscc(1) in page


def test_inbox_shows_new_matches_and_marks_read(client_for, zone, firms):
    from innopoints.inbox.models import Notification

    published(zone, None, rule={">=": [{"field": "rd_expense"}, 50]})
    firm = client_for("enterprise")
    page = firm.get("/inbox/").content.decode()
    assert "新的可享政策" in page and 'id="inbox-count"' in page
    note = Notification.objects.get()
    r = firm.post(f"/inbox/{note.pk}/open/")
    assert r.status_code == 302 and r["Location"] == "/policies/mine/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert client_for("admin").post(f"/inbox/{note.pk}/open/").status_code == 404
