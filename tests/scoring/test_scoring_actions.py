"""Scoring actions: model upload and validation, activation, runs end to end, hashes,
comparison of two runs, explanations and external points."""

from __future__ import annotations

import pytest
from django.db.models import F

from tests.conftest import load, make_user, uscc
from tests.scoring.helpers import BAD_MODEL, TINY_MODEL, TINY_MODEL_V2, scored_zone


@pytest.fixture
def admin(zone):
    return make_user("scoring-admin", "zone_admin", zones=[zone])


@pytest.fixture
def thirty(zone):
    """Thirty firms with two years of data in `zone`."""
    load(zone, list(range(1, 31)))
    zone.refresh_from_db()
    return zone


def _events(action: str):
    from innopoints.audit.models import AuditEvent

    return AuditEvent.objects.filter(action=action)


# ---------------------------------------------------------------------------- model versions


def test_upload_valid_model_is_stored_with_hash_and_audited(zone, admin):
    from innopoints.engine.scoring import load_model
    from innopoints.scoring.actions import do_upload_model_version, model_of

    version, created = do_upload_model_version(admin, zone, TINY_MODEL, file_name="tiny.yaml")
    assert created
    assert (version.model_id, version.version, version.name_en) == ("tiny", "1", "Tiny test model")
    assert version.source_yaml == TINY_MODEL
    # the stored canonical document loads to the same model (same hash)
    assert model_of(version).hash == version.content_hash
    assert load_model(version.document).hash == version.content_hash
    event = _events("scoring.model.upload").get()
    assert event.detail["content_hash"] == version.content_hash
    again, created_again = do_upload_model_version(admin, zone, TINY_MODEL)
    assert again.pk == version.pk and not created_again


def test_upload_invalid_model_lists_every_problem_and_saves_nothing(zone, admin):
    from innopoints.scoring.actions import ModelUploadError, do_upload_model_version
    from innopoints.scoring.models import ModelVersion

    with pytest.raises(ModelUploadError) as info:
        do_upload_model_version(admin, zone, BAD_MODEL)
    paths = {p.path for p in info.value.problems}
    assert "indicators.0.field" in paths  # unknown field
    assert "nodes.1.weight" in paths  # per-stage weights of the wrong shape
    assert "indicators.1.method.segments" in paths  # a gap in the segment table
    assert not ModelVersion.objects.exists()
    assert not _events("scoring.model.upload").exists()


def test_upload_not_yaml(zone, admin):
    from innopoints.scoring.actions import ModelUploadError, do_upload_model_version

    with pytest.raises(ModelUploadError) as info:
        do_upload_model_version(admin, zone, "id: [unclosed")
    assert info.value.problems[0].path == "(document)"


def test_shipped_models_registered_once(zone, admin):
    from innopoints.scoring.actions import do_register_shipped_models
    from innopoints.scoring.models import ModelVersion

    added = do_register_shipped_models(admin, zone)
    assert {v.model_id for v in added} == {"national-18", "extended-33"}
    assert do_register_shipped_models(admin, zone) == []
    assert ModelVersion.objects.filter(zone=zone, shipped=True).count() == 2
    assert _events("scoring.model.register").count() == 2


def test_activation_is_audited_with_old_and_new(zone, admin):
    from innopoints.scoring.actions import do_activate_model_version, do_upload_model_version
    from innopoints.scoring.models import ModelActivation

    v1, _ = do_upload_model_version(admin, zone, TINY_MODEL)
    v2, _ = do_upload_model_version(admin, zone, TINY_MODEL_V2)
    assert do_activate_model_version(admin, zone, 2024, v1)
    assert not do_activate_model_version(admin, zone, 2024, v1)  # already active: no event
    assert do_activate_model_version(admin, zone, 2024, v2)
    assert ModelActivation.objects.get(zone=zone, year=2024).model_version == v2
    first, second = _events("scoring.model.activate").order_by("id")
    assert first.changes["model_version"] == [None, "tiny 1"]
    assert second.changes["model_version"] == ["tiny 1", "tiny 2"]


def test_activation_of_another_zones_version_is_refused(zone, other_zone, admin):
    from innopoints.scoring.actions import (
        ScoringError,
        do_activate_model_version,
        do_upload_model_version,
    )

    version, _ = do_upload_model_version(admin, other_zone, TINY_MODEL)
    with pytest.raises(ScoringError):
        do_activate_model_version(admin, zone, 2024, version)


def test_diff_of_two_versions(zone, admin):
    from innopoints.scoring.actions import do_upload_model_version
    from innopoints.scoring.results import version_diff

    v1, _ = do_upload_model_version(admin, zone, TINY_MODEL)
    v2, _ = do_upload_model_version(admin, zone, TINY_MODEL_V2)
    paths = {row["path"]: row for row in version_diff(v1, v2)}
    assert paths["version"]["old"] == "1" and paths["version"]["new"] == "2"
    assert paths["nodes.tech.weight"]["old"] == "60" and paths["nodes.tech.weight"]["new"] == "70"


# ---------------------------------------------------------------------------- runs


def test_run_without_activation_is_a_clear_error(thirty, admin):
    from innopoints.scoring.actions import ScoringError, do_start_scoring_run

    with pytest.raises(ScoringError, match="2024"):
        do_start_scoring_run(admin, thirty, 2024)


def test_run_end_to_end_stores_every_firm(thirty, admin):
    from innopoints.jobs.models import Job
    from innopoints.scoring.models import FirmScore, ScoringRun

    run = scored_zone(thirty, admin)
    assert run.status == ScoringRun.Status.DONE, run.error
    assert run.job.status == Job.Status.DONE and run.job.result["run"] == run.pk
    assert run.run_hash.startswith("sha256:") and run.data_hash and run.model_hash
    scores = FirmScore.objects.filter(run=run)
    assert scores.count() == 30 == run.counts["stored"]
    assert sorted(scores.values_list("rank_zone", flat=True)) == list(range(1, 31))
    best = scores.order_by("rank_zone").first()
    assert best.enterprise.uscc == uscc(30)  # the biggest firm of the fixture
    assert set(best.indicator_points) == {"rd", "patents", "revenue", "staff"}
    assert set(best.node_points) == {"total", "tech", "ops"}
    assert best.node_points["total"] == pytest.approx(best.total)
    assert sum(best.indicator_points.values()) == pytest.approx(best.base_points)
    assert {s.stage for s in scores} <= {"startup", "growth", "mature"}
    assert {s.industry_section for s in scores} == {"C", "I"}
    assert all(s.n_zone == 30 for s in scores)
    event = _events("scoring.run").get()
    assert event.detail["run_hash"] == run.run_hash


def test_same_data_same_run_hash_and_changed_data_moves_a_firm(thirty, admin):
    from innopoints.enterprises.models import YearlyData
    from innopoints.scoring.actions import do_start_scoring_run
    from innopoints.scoring.models import FirmScore
    from innopoints.scoring.results import compare_runs, moved
    from innopoints.zones.models import Zone

    first = scored_zone(thirty, admin)
    second = do_start_scoring_run(admin, thirty, 2024)
    assert second.run_hash == first.run_hash and second.data_hash == first.data_hash
    assert moved(compare_runs(first, second)).is_empty()

    firm = uscc(3)
    YearlyData.objects.filter(enterprise__uscc=firm, year=2024).update(invention_patents=500)
    Zone.objects.filter(pk=thirty.pk).update(data_version=F("data_version") + 1)
    third = do_start_scoring_run(admin, Zone.objects.get(pk=thirty.pk), 2024)
    assert third.data_hash != first.data_hash and third.run_hash != first.run_hash
    assert third.model_hash == first.model_hash

    comparison = compare_runs(first, third)
    row = comparison.filter(comparison["uscc"] == firm).row(0, named=True)
    assert row["rank_change"] > 0 and row["total_change"] > 0
    assert row["why"][0]["item"] == "patents" and row["why"][0]["delta"] > 0
    assert firm in moved(comparison)["uscc"].to_list()
    before = FirmScore.objects.get(run=first, enterprise__uscc=firm)
    after = FirmScore.objects.get(run=third, enterprise__uscc=firm)
    assert after.rank_zone < before.rank_zone


def test_national_18_runs_on_the_fixture_firms(thirty, admin):
    from innopoints.scoring.actions import (
        do_activate_model_version,
        do_register_shipped_models,
        do_start_scoring_run,
    )
    from innopoints.scoring.models import FirmScore, ScoringRun

    national = next(
        v for v in do_register_shipped_models(admin, thirty) if v.model_id == "national-18"
    )
    do_activate_model_version(admin, thirty, 2024, national)
    run = do_start_scoring_run(admin, thirty, 2024)
    assert run.status == ScoringRun.Status.DONE, run.error
    assert FirmScore.objects.filter(run=run).count() == 30
    assert len(FirmScore.objects.filter(run=run).first().indicator_points) == 18
    assert run.model_hash == national.content_hash


def test_run_of_a_year_without_data_fails_cleanly(thirty, admin):
    from innopoints.scoring.models import ScoringRun

    run = scored_zone(thirty, admin, year=2019)
    assert run.status == ScoringRun.Status.FAILED and "2019" in run.error
    assert run.job.status == "failed"


def test_explanation_matches_stored_points_and_flags_changed_data(thirty, admin):
    from innopoints.enterprises.models import YearlyData
    from innopoints.scoring.models import FirmScore
    from innopoints.scoring.results import clear_explanation_cache, explain_firm
    from innopoints.zones.models import Zone

    clear_explanation_cache()
    run = scored_zone(thirty, admin)
    stored = FirmScore.objects.get(run=run, enterprise__uscc=uscc(7))
    explanation = explain_firm(run, uscc(7), "en")
    assert not explanation.data_changed
    assert explanation.recomputed_run_hash == run.run_hash
    points = {r["item"]: r["points"] for r in explanation.rows}
    assert points == pytest.approx(stored.indicator_points)
    assert {r["name"] for r in explanation.rows} >= {"Revenue", "Invention patents"}
    assert all(r["peer_median"] is not None for r in explanation.rows)

    YearlyData.objects.filter(enterprise__uscc=uscc(7), year=2024).update(tech_staff=None)
    Zone.objects.filter(pk=thirty.pk).update(data_version=F("data_version") + 1)
    changed = explain_firm(run, uscc(7), "en")
    assert changed.data_changed
    staff = next(r for r in changed.missing if r["item"] == "staff")
    assert staff["treatment"] == "impute_median"


# ---------------------------------------------------------------------------- external points


def test_external_points_import_csv(thirty, admin):
    from innopoints.scoring.actions import do_import_external_scores
    from innopoints.scoring.models import ExternalScore

    rows = [
        "统一社会信用代码,年度,积分,排名",
        f"{uscc(1)},2024,55.5,3",
        f"{uscc(2)},2024,abc,",
        f"{uscc(99)},2024,10,",
        f"{uscc(3)},2024,40,",
        f"{uscc(3)},2024,41,",
    ]
    data = "\n".join(rows).encode("gb18030")
    outcome = do_import_external_scores(admin, thirty, data, file_name="n.csv", source="国家平台")
    assert outcome.created == 1 and outcome.rows == 5
    assert len(outcome.errors) == 4  # bad points, unknown firm, the duplicated pair
    assert any("Row 3" in e for e in outcome.errors) or any("3 " in e for e in outcome.errors)
    score = ExternalScore.objects.get()
    assert (score.points, score.rank, score.source) == (55.5, 3, "国家平台")
    event = _events("scoring.external.import").get()
    assert event.detail["created"] == 1 and event.detail["errors"] == 4

    again = do_import_external_scores(
        admin,
        thirty,
        f"uscc,year,points\n{uscc(1)},2024,60\n".encode(),
        file_name="x.csv",
        source="国家平台",
    )
    assert again.updated == 1 and again.created == 0
    assert ExternalScore.objects.get().points == 60


def test_external_points_import_xlsx(thirty, admin, tmp_path):
    from openpyxl import Workbook

    from innopoints.scoring.actions import do_import_external_scores
    from innopoints.scoring.models import ExternalScore

    path = tmp_path / "points.xlsx"
    book = Workbook()
    sheet = book.active
    for row in (
        ["uscc", "year", "points", "rank"],
        [uscc(1), 2024, 70.0, 1],
        [uscc(2), 2024, 65, 2],
    ):
        sheet.append(row)
    book.save(path)
    outcome = do_import_external_scores(
        admin, thirty, path.read_bytes(), file_name="points.xlsx", source="national"
    )
    assert outcome.created == 2 and not outcome.errors
    assert ExternalScore.objects.filter(rank=2).get().enterprise.uscc == uscc(2)


def test_external_points_missing_columns(thirty, admin):
    from innopoints.scoring.actions import ScoringError, do_import_external_scores

    with pytest.raises(ScoringError, match="points"):
        do_import_external_scores(
            admin, thirty, b"uscc,year\nX,2024\n", file_name="x.csv", source="s"
        )
