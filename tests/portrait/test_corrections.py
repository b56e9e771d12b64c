"""Corrections: submit → approve → value changed (audited old/new) → a new run exists;
reject keeps the data; bad values are refused."""

from __future__ import annotations

import pytest

from tests.conftest import uscc

OWN = uscc(1)


def _firm():
    from innopoints.enterprises.models import Enterprise

    return Enterprise.objects.select_related("zone").get(uscc=OWN)


def _value(field="revenue", year=2024):
    from innopoints.enterprises.models import YearlyData

    return YearlyData.objects.filter(enterprise__uscc=OWN, year=year).values_list(field, flat=True)[
        0
    ]


def test_submit_approve_applies_audits_and_rescores(run, users):
    from innopoints.audit.models import AuditEvent
    from innopoints.portrait.actions import do_approve_correction, do_submit_correction
    from innopoints.scoring.models import FirmScore, ScoringRun

    old = _value()
    correction = do_submit_correction(
        users["enterprise"], _firm(), 2024, "revenue", "12345.5", "audited figure"
    )
    assert correction.status == "submitted" and correction.old_value == old
    assert correction.new_value == 12345.5
    assert AuditEvent.objects.filter(action="portrait.correction.submit").count() == 1
    runs_before = ScoringRun.objects.filter(year=2024).count()

    approved = do_approve_correction(users["admin"], correction)
    approved.refresh_from_db()
    assert approved.status == "approved" and approved.reviewer == users["admin"]
    assert _value() == 12345.5
    change = AuditEvent.objects.get(action="yearly.change")
    assert change.changes["revenue"] == [old, 12345.5]
    assert change.detail["import_batch"] == approved.import_batch_id
    review = AuditEvent.objects.get(action="portrait.correction.approve")
    assert review.changes == {"revenue": [old, 12345.5]}
    assert ScoringRun.objects.filter(year=2024).count() == runs_before + 1
    new_run = approved.run
    assert new_run is not None and new_run.status == "done" and new_run.pk != run.pk
    assert new_run.run_hash != run.run_hash
    stored = FirmScore.objects.get(run=new_run, enterprise__uscc=OWN)
    assert (
        stored.indicator_points["revenue"]
        >= FirmScore.objects.get(run=run, enterprise__uscc=OWN).indicator_points["revenue"]
    )


def test_reject_keeps_the_data(run, users):
    from innopoints.audit.models import AuditEvent
    from innopoints.portrait.actions import (
        CorrectionError,
        do_reject_correction,
        do_submit_correction,
    )
    from innopoints.scoring.models import ScoringRun

    old = _value()
    correction = do_submit_correction(users["enterprise"], _firm(), 2024, "revenue", 1.0, "")
    runs = ScoringRun.objects.count()
    with pytest.raises(CorrectionError):
        do_reject_correction(users["admin"], correction, "  ")
    rejected = do_reject_correction(users["admin"], correction, "no evidence")
    assert rejected.status == "rejected" and rejected.reason == "no evidence"
    assert _value() == old
    assert ScoringRun.objects.count() == runs
    assert AuditEvent.objects.filter(action="portrait.correction.reject").count() == 1
    assert not AuditEvent.objects.filter(action="yearly.change").exists()
    with pytest.raises(CorrectionError):
        do_reject_correction(users["admin"], rejected, "again")


@pytest.mark.parametrize(
    "field,value",
    [("no_such_field", 1), ("revenue", "abc"), ("revenue", -5), ("staff_total", 2.5)],
)
def test_bad_corrections_are_refused(run, users, field, value):
    from innopoints.portrait.actions import CorrectionError, do_submit_correction

    with pytest.raises(CorrectionError):
        do_submit_correction(users["enterprise"], _firm(), 2024, field, value, "")


def test_a_correction_contradicting_other_data_is_not_applied(run, users):
    """tech_staff above staff_total violates a database check: nothing is written."""
    from innopoints.portrait.actions import (
        CorrectionError,
        do_approve_correction,
        do_submit_correction,
    )

    correction = do_submit_correction(users["enterprise"], _firm(), 2024, "tech_staff", 500, "")
    with pytest.raises(CorrectionError):
        do_approve_correction(users["admin"], correction)
    correction.refresh_from_db()
    assert correction.status == "submitted"
    assert _value("tech_staff") == 21


def test_pages_flow(run, client_for):
    from innopoints.portrait.models import Correction

    firm = client_for("enterprise")
    response = firm.post(
        f"/portrait/{OWN}/corrections/new/",
        {"year": 2024, "field": "revenue", "value": "7777", "note": "typo"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    correction = Correction.objects.get()
    page = firm.get(response["Location"]).content.decode()
    assert "7777" in page and "review-form" not in page
    admin = client_for("admin")
    assert "review-form" in admin.get(f"/portrait/corrections/{correction.pk}/").content.decode()
    assert OWN in admin.get("/portrait/corrections/?status=submitted").content.decode()
    response = admin.post(f"/portrait/corrections/{correction.pk}/review/", {"decision": "approve"})
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.status == "approved" and correction.run_id
    assert _value() == 7777


def test_api_flow(run, client_for):
    firm = client_for("enterprise")
    response = firm.post(
        "/api/portrait/corrections",
        {"uscc": OWN, "year": 2024, "field": "rd_expense", "value": 99.5, "note": "n"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert firm.post(f"/api/portrait/corrections/{pk}/approve").status_code == 403
    assert (
        client_for("supervisor").post(f"/api/portrait/corrections/{pk}/approve").status_code == 403
    )
    assert (
        client_for("other_admin").post(f"/api/portrait/corrections/{pk}/approve").status_code == 404
    )
    admin = client_for("admin")
    listed = admin.get("/api/portrait/corrections?status=submitted").json()
    assert [c["id"] for c in listed["items"]] == [pk]
    response = admin.post(
        f"/api/portrait/corrections/{pk}/reject", {"reason": "r"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    again = admin.post(f"/api/portrait/corrections/{pk}/approve")
    assert again.status_code == 409
    bad = client_for("enterprise").post(
        "/api/portrait/corrections",
        {"uscc": OWN, "year": 2024, "field": "revenue", "value": "x"},
        content_type="application/json",
    )
    assert bad.status_code == 400
