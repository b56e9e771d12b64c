"""Portal actions: publication freezes the ranking and its snapshot hash is reproducible;
objections before/after the deadline; attachment limits; resolution audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import load, uscc
from tests.portal.portal_helpers import (
    JPG,
    PDF,
    PNG,
    placement_rows,
    score_years,
    xlsx_bytes,
)

MORE = [n for n in range(4, 16) if n != 9]


@pytest.fixture
def run(users, zone):
    """A 2024 run of 14 firms of Z1, by the Z1 admin."""
    load(zone, MORE)
    zone.refresh_from_db()
    return score_years(zone, users["admin"])[2024]


@pytest.fixture
def publication(users, run):
    from innopoints.portal.actions import do_publish_ranking

    return do_publish_ranking(users["admin"], run)


def _events(action: str):
    from innopoints.audit.models import AuditEvent

    return AuditEvent.objects.filter(action=action)


# ---------------------------------------------------------------------------- publication


def test_publish_copies_the_run_and_is_audited(users, run, publication):
    from innopoints.scoring.models import FirmScore

    assert publication.run_hash == run.run_hash and publication.firms == 14
    assert publication.snapshot_hash.startswith("sha256:")
    assert publication.objection_deadline - publication.published_at == dt.timedelta(days=5)
    scores = FirmScore.objects.filter(run=run).order_by("enterprise__uscc")
    placements = publication.placements.order_by("uscc")
    assert [(s.enterprise.uscc, s.total, s.rank_zone, s.band) for s in scores] == [
        (p.uscc, p.total, p.rank_zone, p.band) for p in placements
    ]
    assert publication.band_names["lead"] == {"zh": "领跑", "en": "Lead"}
    event = _events("portal.publish").get()
    assert event.detail["snapshot_hash"] == publication.snapshot_hash
    assert event.detail["run_hash"] == run.run_hash and event.zone_id == run.zone_id


def test_publication_is_frozen_against_later_runs_and_edits(users, zone, run, publication):
    from innopoints.portal.actions import SNAPSHOT_FIELDS, snapshot_hash
    from innopoints.portal.models import FrozenError, Placement

    before = placement_rows(publication)
    load(zone, [20, 21, 22])  # new firms, then a new run of the same year
    zone.refresh_from_db()
    later = score_years(zone, users["admin"])[2024]
    assert later.run_hash != run.run_hash
    publication.refresh_from_db()
    assert placement_rows(publication) == before and publication.firms == 14
    stored = [dict(zip(SNAPSHOT_FIELDS, r, strict=True)) for r in placement_rows(publication)]
    assert snapshot_hash(stored) == publication.snapshot_hash
    placement = Placement.objects.filter(publication=publication).first()
    placement.total = 99.0
    with pytest.raises(FrozenError):
        placement.save()
    with pytest.raises(FrozenError):
        Placement.objects.filter(publication=publication).update(total=1.0)
    with pytest.raises(FrozenError):
        Placement.objects.filter(publication=publication).delete()
    assert Placement.objects.filter(publication=publication).count() == 14


def test_snapshot_hash_is_reproducible_from_the_run_hash(users, zone, run, publication):
    """Re-running scoring on the same data gives the same run hash and snapshot hash."""
    from innopoints.portal.actions import do_publish_ranking, run_snapshot, snapshot_hash

    again = score_years(zone, users["admin"])[2024]
    assert again.pk != run.pk and again.run_hash == run.run_hash
    assert snapshot_hash(run_snapshot(users["admin"], again)) == publication.snapshot_hash
    republished = do_publish_ranking(users["admin"], again, objection_days=7)
    assert republished.snapshot_hash == publication.snapshot_hash
    assert republished.objection_deadline - republished.published_at == dt.timedelta(days=7)


def test_snapshot_hash_changes_with_the_ranking(users, run, publication):
    from innopoints.portal.actions import run_snapshot, snapshot_hash

    rows = run_snapshot(users["admin"], run)
    rows[0]["total"] = (rows[0]["total"] or 0) + 1
    assert snapshot_hash(rows) != publication.snapshot_hash
    assert snapshot_hash(reversed(rows)) == snapshot_hash(rows)  # order does not matter


def test_publish_refusals(users, zone, run):
    from innopoints.portal.actions import PortalError, do_publish_ranking
    from innopoints.portal.models import Publication
    from innopoints.scoring.models import ScoringRun

    for actor in (users["supervisor"], users["other_admin"], users["enterprise"], None):
        with pytest.raises(PortalError) as info:
            do_publish_ranking(actor, run)
        assert info.value.code == "forbidden"
    for days in (0, 61):
        with pytest.raises(PortalError):
            do_publish_ranking(users["admin"], run, objection_days=days)
    ScoringRun.objects.filter(pk=run.pk).update(status="failed")
    with pytest.raises(PortalError) as info:
        do_publish_ranking(users["admin"], run)
    assert info.value.code == "run_not_done"
    assert not Publication.objects.exists() and not _events("portal.publish").exists()


def test_objection_period_is_configurable_by_setting(users, run, settings):
    from innopoints.portal.actions import do_publish_ranking

    settings.PORTAL_OBJECTION_DAYS = 3
    publication = do_publish_ranking(users["admin"], run)
    assert publication.objection_days == 3


# ---------------------------------------------------------------------------- objections


def test_objection_before_deadline_is_filed_with_attachments(users, publication, private_files):
    from innopoints.portal.actions import FileUpload, do_file_objection

    files = [
        FileUpload("证明.pdf", PDF),
        FileUpload("scan.PNG", PNG),
        FileUpload("photo.jpeg", JPG),
        FileUpload("data.xlsx", xlsx_bytes()),
    ]
    just_before = publication.objection_deadline - dt.timedelta(seconds=1)
    objection = do_file_objection(
        users["enterprise"], publication, "  研发费用录入有误  ", files, now=just_before
    )
    assert objection.reason == "研发费用录入有误" and objection.status == "open"
    assert objection.enterprise.uscc == uscc(1)
    attachments = list(objection.attachments.all())
    assert [a.content_type for a in attachments] == [
        "application/pdf",
        "image/png",
        "image/jpeg",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ]
    for attachment in attachments:
        path = private_files / attachment.stored_path
        assert path.is_file() and path.stat().st_size == attachment.size
        assert attachment.original_name not in str(path)  # stored under a random name
    event = _events("portal.objection.file").get()
    assert event.detail["enterprise"] == uscc(1) and len(event.detail["attachments"]) == 4


def test_objection_after_deadline_is_refused(users, publication, private_files):
    from innopoints.portal.actions import PortalError, do_file_objection
    from innopoints.portal.models import Objection

    late = publication.objection_deadline + dt.timedelta(seconds=1)
    with pytest.raises(PortalError) as info:
        do_file_objection(users["enterprise"], publication, "too late", now=late)
    assert info.value.code == "deadline_passed"
    assert not Objection.objects.exists() and not _events("portal.objection.file").exists()


def test_only_listed_enterprise_users_object(users, publication):
    from innopoints.portal.actions import PortalError, do_file_objection

    for role in ("admin", "supervisor", "bank"):
        with pytest.raises(PortalError) as info:
            do_file_objection(users[role], publication, "x")
        assert info.value.code == "not_listed"


def test_one_open_objection_per_publication_and_a_reason_is_needed(users, publication):
    from innopoints.portal.actions import PortalError, do_file_objection

    with pytest.raises(PortalError) as info:
        do_file_objection(users["enterprise"], publication, "   ")
    assert info.value.code == "reason_missing"
    do_file_objection(users["enterprise"], publication, "first")
    with pytest.raises(PortalError) as info:
        do_file_objection(users["enterprise"], publication, "second")
    assert info.value.code == "already_open"


@pytest.mark.parametrize(
    "name,data,code",
    [
        ("virus.exe", b"MZ" + b"\x00" * 10, "attachment_type"),
        ("notes.docx", b"PK\x03\x04" + b"\x00" * 10, "attachment_type"),
        ("fake.pdf", b"<html>not a pdf</html>", "attachment_type"),
        ("fake.png", PDF, "attachment_type"),
        ("fake.xlsx", b"PK\x03\x04 not a zip", "attachment_type"),
        ("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), "attachment_size"),
        ("empty.pdf", b"", "attachment_empty"),
        ("noext", PDF, "attachment_type"),
    ],
)
def test_attachment_type_and_size_limits(users, publication, private_files, name, data, code):
    from innopoints.portal.actions import FileUpload, PortalError, do_file_objection
    from innopoints.portal.models import Objection

    with pytest.raises(PortalError) as info:
        do_file_objection(
            users["enterprise"],
            publication,
            "reason",
            [FileUpload("ok.pdf", PDF), FileUpload(name, data)],
        )
    assert info.value.code == code
    assert not Objection.objects.exists()
    assert not any(private_files.rglob("*.*")) if private_files.exists() else True


def test_exactly_five_megabytes_is_accepted_and_six_files_are_not(users, publication):
    from innopoints.portal.actions import FileUpload, PortalError, do_file_objection

    limit = b"%PDF-" + b"0" * (5 * 1024 * 1024 - 5)
    with pytest.raises(PortalError) as info:
        do_file_objection(
            users["enterprise"], publication, "r", [FileUpload(f"{i}.pdf", PDF) for i in range(6)]
        )
    assert info.value.code == "too_many_files"
    objection = do_file_objection(
        users["enterprise"], publication, "r", [FileUpload("a.pdf", limit)]
    )
    assert objection.attachments.get().size == 5 * 1024 * 1024


# ---------------------------------------------------------------------------- resolution


def test_accept_and_reject_are_audited_and_final(users, zone, run, publication):
    from innopoints.portal.actions import (
        PortalError,
        do_file_objection,
        do_publish_ranking,
        do_resolve_objection,
    )

    objection = do_file_objection(users["enterprise"], publication, "wrong revenue")
    with pytest.raises(PortalError) as info:
        do_resolve_objection(users["admin"], objection, accept=True, note="  ")
    assert info.value.code == "note_missing"
    for role in ("supervisor", "other_admin", "enterprise", "bank"):
        with pytest.raises(PortalError) as info:
            do_resolve_objection(users[role], objection, accept=False, note="no")
        assert info.value.code == "forbidden"
    accepted = do_resolve_objection(
        users["admin"], objection, accept=True, note="收入已更正，重新评分"
    )
    assert accepted.status == "accepted" and accepted.resolved_by == users["admin"]
    assert accepted.resolved_at is not None
    event = _events("portal.objection.accept").get()
    assert event.changes == {"status": ["open", "accepted"]}
    assert event.detail["note"] == "收入已更正，重新评分"
    with pytest.raises(PortalError) as info:
        do_resolve_objection(users["admin"], objection, accept=False, note="again")
    assert info.value.code == "already_resolved"

    second = do_publish_ranking(users["admin"], run)
    objection2 = do_file_objection(users["enterprise"], second, "rank too low")
    rejected = do_resolve_objection(users["admin"], objection2, accept=False, note="数据无误")
    assert rejected.status == "rejected"
    event = _events("portal.objection.reject").get()
    assert event.changes == {"status": ["open", "rejected"]}
    assert event.detail["note"] == "数据无误"


def test_objection_resolution_is_constrained_in_the_database(users, publication):
    from django.db import IntegrityError, transaction

    from innopoints.portal.actions import do_file_objection
    from innopoints.portal.models import Objection

    objection = do_file_objection(users["enterprise"], publication, "x")
    with pytest.raises(IntegrityError), transaction.atomic():
        Objection.objects.filter(pk=objection.pk).update(
            status="rejected", resolved_at=timezone.now(), resolution_note=""
        )
