"""Scoring pages: upload with every problem shown, the hierarchy, activation, results with
filters, external points and export, a bounded number of queries, explanations, compare."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from tests.conftest import load, uscc
from tests.scoring.helpers import BAD_MODEL, TINY_MODEL, scored_zone

Z1_MORE = [n for n in range(4, 42) if n != 9]  # firm 9 is in the other zone


@pytest.fixture
def admin_client(client_for):
    return client_for("admin")


@pytest.fixture
def run(users, zone):
    """A run of 40 firms of Z1 (the fixture firms 1-3 plus 37 more) with external points."""
    from innopoints.scoring.actions import do_import_external_scores

    load(zone, Z1_MORE)
    zone.refresh_from_db()
    run = scored_zone(zone, users["admin"])
    assert run.status == "done", run.error
    lines = ["uscc,year,points,rank"] + [
        f"{uscc(n)},2024,{n}.5,{42 - n}" for n in [1, 2, 3, *Z1_MORE]
    ]
    do_import_external_scores(
        users["admin"], zone, "\n".join(lines).encode(), file_name="n.csv", source="national"
    )
    return run


def test_upload_page_lists_every_problem_and_saves_nothing(admin_client, zone):
    from innopoints.scoring.models import ModelVersion

    upload = SimpleUploadedFile("bad.yaml", BAD_MODEL.encode())
    response = admin_client.post("/scoring/models/", {"zone": zone.pk, "file": upload})
    assert response.status_code == 400
    page = response.content.decode()
    for path in ("indicators.0.field", "nodes.1.weight", "indicators.1.method.segments"):
        assert path in page
    assert not ModelVersion.objects.filter(shipped=False).exists()


def test_upload_page_saves_a_valid_model_and_shows_its_hierarchy(admin_client, zone):
    upload = SimpleUploadedFile("tiny.yaml", TINY_MODEL.encode())
    response = admin_client.post("/scoring/models/", {"zone": zone.pk, "file": upload})
    assert response.status_code == 302
    page = admin_client.get(response["Location"]).content.decode()
    assert 'id="hierarchy"' in page
    for text in ("研发强度", "rd_intensity", "reference: 0.1", "impute_median", "minmax"):
        assert text in page


def test_models_page_registers_the_shipped_models(admin_client):
    page = admin_client.get("/scoring/models/").content.decode()
    assert "national-18" in page and "extended-33" in page


def test_activation_page_flow(admin_client, zone):
    from innopoints.scoring.actions import do_upload_model_version
    from innopoints.scoring.models import ModelActivation

    version, _ = do_upload_model_version(None, zone, TINY_MODEL)
    response = admin_client.post(f"/scoring/models/{version.pk}/activate/", {"year": 2025})
    assert response.status_code == 302
    assert ModelActivation.objects.get(zone=zone, year=2025).model_version == version


def test_start_run_redirects_to_progress_polling(admin_client, zone, firms):
    from innopoints.scoring.actions import do_activate_model_version, do_upload_model_version
    from innopoints.scoring.models import ScoringRun

    version, _ = do_upload_model_version(None, zone, TINY_MODEL)
    do_activate_model_version(None, zone, 2024, version)
    response = admin_client.post("/scoring/", {"zone": zone.pk, "year": 2024})
    run = ScoringRun.objects.get()
    assert response["Location"] == f"/scoring/?job={run.job_id}"
    page = admin_client.get(response["Location"]).content.decode()
    assert f'data-job-url="/jobs/{run.job_id}/"' in page
    job = admin_client.get(f"/jobs/{run.job_id}/").json()
    assert job["status"] == "done" and job["result"]["url"] == f"/scoring/runs/{run.pk}/"


def test_start_run_without_activation_shows_the_error(admin_client, zone, firms):
    response = admin_client.post("/scoring/", {"zone": zone.pk, "year": 2023})
    assert response.status_code == 200
    assert "2023" in response.content.decode()


def test_results_page_filters_sorts_and_shows_external_points(admin_client, run):
    from innopoints.scoring.models import ExternalScore, FirmScore

    response = admin_client.get(f"/scoring/runs/{run.pk}/")
    page = response.content.decode()
    top = FirmScore.objects.get(run=run, rank_zone=1)
    external = ExternalScore.objects.get(enterprise=top.enterprise).points
    assert top.enterprise.name in page and "national" in page
    assert f"{top.total - external:.2f}" in page
    ranks = [s.rank_zone for s, _stage, _band in response.context["rows"]]
    assert ranks == sorted(ranks) and len(ranks) == 40
    growth = FirmScore.objects.filter(run=run, stage="growth").count()
    filtered = admin_client.get(f"/scoring/runs/{run.pk}/?stage=growth&sort=-difference")
    assert filtered.context["page"].paginator.count == growth
    section = admin_client.get(f"/scoring/runs/{run.pk}/?section=C&sort=name")
    assert all(s.industry_section == "C" for s, _stage, _band in section.context["rows"])
    banded = admin_client.get(f"/scoring/runs/{run.pk}/?band=lead")
    assert all(s.band == "lead" for s, _stage, _band in banded.context["rows"])
    by_total = admin_client.get(f"/scoring/runs/{run.pk}/?sort=total").context["rows"]
    totals = [s.total for s, _stage, _band in by_total]
    assert totals == sorted(totals)


def test_results_page_query_count_is_bounded(admin_client, run):
    admin_client.get(f"/scoring/runs/{run.pk}/")  # warm the model cache and the session
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(f"/scoring/runs/{run.pk}/?sort=-total")
    assert response.status_code == 200
    assert len(captured) <= 12, [q["sql"][:120] for q in captured.captured_queries]


def test_results_export_csv_has_external_points_and_difference(admin_client, run):
    import polars as pl

    response = admin_client.get(f"/scoring/runs/{run.pk}/?export=csv")
    frame = pl.read_csv(io.BytesIO(response.content))
    assert frame.height == 40
    assert "外部积分（national）" in frame.columns and "差值" in frame.columns
    admin_client.cookies["django_language"] = "en"
    english = pl.read_csv(
        io.BytesIO(admin_client.get(f"/scoring/runs/{run.pk}/?export=csv").content)
    )
    assert "External points (national)" in english.columns and "Difference" in english.columns
    xlsx = admin_client.get(f"/scoring/runs/{run.pk}/?export=xlsx")
    assert xlsx.content[:2] == b"PK"


def test_firm_page_explains_and_flags_changed_data(admin_client, run, zone):
    from innopoints.enterprises.models import YearlyData
    from innopoints.zones.models import Zone

    url = f"/scoring/runs/{run.pk}/firms/{uscc(5)}/"
    page = admin_client.get(url).content.decode()
    assert 'id="explanation"' in page and "data-changed" not in page
    assert "研发强度" in page
    YearlyData.objects.filter(enterprise__uscc=uscc(5), year=2024).update(revenue=99999.0)
    Zone.objects.filter(pk=zone.pk).update(data_version=F("data_version") + 1)
    assert 'id="data-changed"' in admin_client.get(url).content.decode()
    assert admin_client.get(f"/scoring/runs/{run.pk}/firms/{uscc(99)}/").status_code == 404


def test_compare_page_shows_who_moved_and_why(admin_client, run, zone, users):
    from innopoints.enterprises.models import YearlyData
    from innopoints.scoring.actions import do_start_scoring_run
    from innopoints.zones.models import Zone

    YearlyData.objects.filter(enterprise__uscc=uscc(4), year=2024).update(invention_patents=900)
    Zone.objects.filter(pk=zone.pk).update(data_version=F("data_version") + 1)
    later = do_start_scoring_run(users["admin"], Zone.objects.get(pk=zone.pk), 2024)
    response = admin_client.get(f"/scoring/runs/compare/?a={run.pk}&b={later.pk}")
    page = response.content.decode()
    assert uscc(4) in page and "patents" in page
    first = response.context["rows"][0]
    assert first["uscc"] == uscc(4) and first["rank_change"] > 0


def test_external_page_import(admin_client, zone, firms):
    upload = SimpleUploadedFile("p.csv", f"uscc,year,points\n{uscc(1)},2024,12\n".encode())
    response = admin_client.post(
        "/scoring/external/", {"zone": zone.pk, "source": "national", "file": upload}
    )
    assert response.status_code == 200
    assert response.context["outcome"].created == 1
    assert "national" in response.content.decode()


def test_nav_link_for_admins_and_supervisors_only(client_for):
    assert 'href="/scoring/"' in client_for("admin").get("/enterprises/").content.decode()
    assert 'href="/scoring/"' in client_for("supervisor").get("/enterprises/").content.decode()
    own = f"/enterprises/{uscc(1)}/"
    assert 'href="/scoring/"' not in client_for("enterprise").get(own).content.decode()
