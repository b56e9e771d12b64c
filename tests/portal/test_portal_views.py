"""Portal pages: dashboard numbers against independently computed frames, rankings with
filters/export and a bounded number of queries, publication, my ranking, objections
filed and resolved through the pages, attachments served only to the firm and admins."""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tests.conftest import load, registry_frames, uscc
from tests.portal.portal_helpers import PDF, PNG, score_years

MORE = [n for n in range(4, 42) if n != 9]  # firm 9 is in the other zone
ONLY_2023 = [50, 51, 52]  # firms with no 2024 data


def _load_only_2023(zone, numbers):
    from innopoints.enterprises.actions import apply_registry
    from innopoints.enterprises.models import ImportBatch

    batch = ImportBatch.objects.create(zone=zone, file_name="f", sha256="0" * 64, mode="strict")
    apply_registry(None, zone, registry_frames(numbers, years=(2023,)), batch)


@pytest.fixture
def runs(users, zone):
    """Runs of 2023 and 2024 for 40 + 3 firms of Z1 (3 of them with 2023 data only)."""
    load(zone, MORE)
    _load_only_2023(zone, ONLY_2023)
    zone.refresh_from_db()
    return score_years(zone, users["admin"], years=(2023, 2024))


@pytest.fixture
def admin_client(client_for):
    return client_for("admin")


def _expected_frames() -> dict[str, pl.DataFrame]:
    """The registry frames of every Z1 firm, rebuilt here without the app's panel."""
    parts = [registry_frames([1, 2, 3]), registry_frames(MORE), registry_frames(ONLY_2023, (2023,))]
    return {k: pl.concat([p[k] for p in parts], how="vertical_relaxed") for k in parts[0]}


# ---------------------------------------------------------------------------- dashboard


def test_dashboard_numbers_match_independent_frames(admin_client, zone, runs):
    from django.db.models import Count

    from innopoints.scoring.models import FirmScore

    response = admin_client.get(f"/portal/?zone={zone.pk}&year=2024")
    assert response.status_code == 200
    tables = response.context["tables"]
    frames = _expected_frames()
    firms_2024 = frames["yearly"].filter(pl.col("year") == 2024).get_column("uscc")
    ents = frames["enterprises"].filter(pl.col("uscc").is_in(firms_2024.implode()))
    assert response.context["registered"] == frames["enterprises"].height == 43
    assert response.context["with_data"] == ents.height == 40

    # industry sections, from the fixture's industry codes
    expected_sections = dict(
        ents.group_by(pl.col("industry_code").str.slice(0, 1)).len().iter_rows()
    )
    got_sections = {row[0].split()[0]: row[1] for row in tables["sections"].rows}
    assert got_sections == expected_sections

    # qualifications held on 31 Dec 2024, from the fixture's certificate validity
    end = dt.date(2024, 12, 31)
    holders = (
        frames["qualifications"]
        .filter(
            (pl.col("valid_from") <= end)
            & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= end))
            & pl.col("uscc").is_in(firms_2024.implode())
        )
        .group_by("type")
        .agg(pl.col("uscc").n_unique())
    )
    got_quals = dict(tables["qualifications"].rows)
    assert got_quals["高新技术企业"] == dict(holders.iter_rows())["high_tech"] == 2
    assert sum(got_quals.values()) == 2

    # stages, against the stored scores of the run (the database, not the panel)
    run = runs[2024]
    by_stage = dict(FirmScore.objects.filter(run=run).values_list("stage").annotate(n=Count("id")))
    names = {"startup": "初创期", "growth": "成长期", "mature": "稳定期"}
    assert dict(tables["stages"].rows) == {names[k]: by_stage.get(k, 0) for k in names}

    # the points histogram, recomputed from the stored totals
    totals = list(FirmScore.objects.filter(run=run).values_list("total", flat=True))
    width = tables["points"].extra["width"]
    bins = len(tables["points"].rows)
    expected_bins = [0] * bins
    for total in totals:
        expected_bins[min(int(math.floor(total / width)), bins - 1)] += 1
    assert [r[1] for r in tables["points"].rows] == expected_bins
    assert sum(expected_bins) == len(totals) == 40
    assert bins * width >= max(totals)

    # top firms per stage: the stored best ranks in stage
    for code, label in names.items():
        want = list(
            FirmScore.objects.filter(run=run, stage=code)
            .order_by("rank_stage", "enterprise__uscc")
            .values_list("enterprise__uscc", flat=True)[:5]
        )
        assert [r[3] for r in tables["top"].rows if r[0] == label] == want

    # movement: zone rank 2023 → 2024 for firms in both runs
    before = dict(
        FirmScore.objects.filter(run=runs[2023]).values_list("enterprise__uscc", "rank_zone")
    )
    after = dict(FirmScore.objects.filter(run=run).values_list("enterprise__uscc", "rank_zone"))
    changes = {u: before[u] - after[u] for u in after if u in before}
    risers = sorted(((c, u) for u, c in changes.items() if c > 0), key=lambda x: (-x[0], x[1]))
    fallers = sorted(((c, u) for u, c in changes.items() if c < 0), key=lambda x: (x[0], x[1]))
    assert [(r[4], r[1]) for r in tables["risers"].rows] == risers[:10]
    assert [(r[4], r[1]) for r in tables["fallers"].rows] == fallers[:10]
    assert response.context["matched"] == len(changes) == 40

    # completeness: fields the fixture fills are complete for the 40 firms with data;
    # the 3 firms without 2024 data miss every yearly field
    missing = {r[0]: r[1] for r in tables["completeness"].rows}
    with translation.override("zh-hans"):
        no_data = translation.gettext("(no data for the year at all)")
    assert no_data != "(no data for the year at all)"  # the page is Chinese by default
    assert missing[no_data] == 3
    assert missing["营业收入"] == 3 and missing["研发费用"] == 3
    assert missing["净利润"] == 43  # never provided
    page = response.content.decode()
    assert 'data-chart="points"' in page and 'id="chart-data"' in page
    assert "vendor/echarts/echarts.min.js" in page


def test_dashboard_table_exports_and_slots(admin_client, zone, runs):
    response = admin_client.get(f"/portal/?zone={zone.pk}&year=2024&table=sections&export=csv")
    assert response.status_code == 200
    frame = pl.read_csv(io.BytesIO(response.content))
    assert frame.columns == ["行业门类", "企业数"] or frame.height > 0
    assert frame.get_column(frame.columns[1]).sum() == 40
    xlsx = admin_client.get(f"/portal/?zone={zone.pk}&year=2024&table=points&export=xlsx")
    assert xlsx.content.startswith(b"PK")
    assert admin_client.get(f"/portal/?zone={zone.pk}&table=nope&export=csv").status_code == 404
    page = admin_client.get(f"/portal/?zone={zone.pk}&year=2024").content.decode()
    assert 'data-slot="policy_figures"' in page and 'data-slot="finance_figures"' in page
    assert 'id="panel-pools"' not in page  # no pools app data yet: left out


def test_dashboard_locale_follows_the_language(admin_client, zone, runs):
    admin_client.cookies["django_language"] = "en"
    page = admin_client.get(f"/portal/?zone={zone.pk}&year=2024").content.decode()
    assert '<html lang="en">' in page and "Firms by stage" in page
    import innopoints.portal

    script = Path(innopoints.portal.__file__).parent / "static" / "portal" / "charts.js"
    text = script.read_text(encoding="utf-8")
    assert '"EN" : "ZH"' in text and "echarts.init(el, null, { locale" in text


def test_dashboard_without_runs_shows_empty_panels(admin_client, zone, firms):
    response = admin_client.get(f"/portal/?zone={zone.pk}&year=2024")
    assert response.status_code == 200
    assert response.context["run"] is None
    assert response.context["tables"]["points"].rows == []


# ---------------------------------------------------------------------------- rankings


def test_rankings_filters_scopes_and_export(admin_client, zone, runs):
    from innopoints.scoring.models import FirmScore

    run = runs[2024]
    response = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024")
    rows = response.context["rows"]
    assert [s.rank_zone for s, _st, _b in rows] == sorted(s.rank_zone for s, _st, _b in rows)
    assert len(rows) == 40 and response.context["run"].pk == run.pk
    growth = FirmScore.objects.filter(run=run, stage="growth").count()
    staged = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024&stage=growth")
    assert staged.context["page"].paginator.count == growth
    by_industry = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024&scope=industry")
    keys = [(s.industry_section, s.rank_industry) for s, _st, _b in by_industry.context["rows"]]
    assert keys == sorted(keys)
    lead = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024&band=lead")
    assert all(s.band == "lead" for s, _st, _b in lead.context["rows"])
    found = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024&q={uscc(2)}")
    assert [s.uscc for s, _st, _b in found.context["rows"]] == [uscc(2)]
    csv = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024&section=C&export=csv")
    frame = pl.read_csv(io.BytesIO(csv.content))
    assert frame.height == FirmScore.objects.filter(run=run, industry_section="C").count()
    assert "排名" in frame.columns and "梯队" in frame.columns
    assert set(frame.get_column("梯队").drop_nulls()) - {""} <= {"领跑", "竞跑", "进取"}


def test_rankings_page_query_count_is_bounded(admin_client, zone, runs):
    url = f"/portal/rankings/?zone={zone.pk}&year=2024"
    admin_client.get(url)  # warm the model cache and the session
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(url + "&sort=-total")
    assert response.status_code == 200 and len(response.context["rows"]) == 40
    assert len(captured) <= 14, [q["sql"][:120] for q in captured.captured_queries]


def test_publish_from_the_rankings_page(admin_client, client_for, zone, runs):
    from innopoints.portal.models import Publication

    run = runs[2024]
    page = admin_client.get(f"/portal/rankings/?zone={zone.pk}&year=2024").content.decode()
    assert 'id="publish-form"' in page
    response = admin_client.post(
        "/portal/publish/", {"run": run.pk, "objection_days": 10, "note": "first"}
    )
    publication = Publication.objects.get()
    assert response["Location"] == f"/portal/publications/{publication.pk}/"
    assert publication.objection_days == 10 and publication.firms == 40
    detail = admin_client.get(response["Location"])
    assert detail.context["page"].paginator.count == 40
    assert publication.snapshot_hash in detail.content.decode()
    sup = client_for("supervisor").get(f"/portal/rankings/?zone={zone.pk}&year=2024")
    assert 'id="publish-form"' not in sup.content.decode()
    listing = client_for("supervisor").get("/portal/publications/").content.decode()
    assert f"/portal/publications/{publication.pk}/" in listing


# ---------------------------------------------------------------------------- enterprise


@pytest.fixture
def published(users, zone, runs):
    from innopoints.portal.actions import do_publish_ranking

    return do_publish_ranking(users["admin"], runs[2024])


def test_my_ranking_shows_only_the_own_placement(client_for, published):
    response = client_for("enterprise").get("/portal/my-ranking/")
    entries = response.context["entries"]
    assert len(entries) == 1 and entries[0]["placement"].uscc == uscc(1)
    page = response.content.decode()
    assert uscc(2) not in page and "测试科技有限公司2<" not in page
    assert 'class="objection-form"' in page


def test_objection_through_the_page_then_resolved(client_for, published, private_files):
    from innopoints.portal.models import Objection

    firm = client_for("enterprise")
    upload = SimpleUploadedFile("proof.pdf", PDF, content_type="application/pdf")
    response = firm.post(
        f"/portal/publications/{published.pk}/object/",
        {f"p{published.pk}-reason": "营业收入少计", f"p{published.pk}-files": [upload]},
    )
    messages = [str(m) for m in response.wsgi_request._messages]
    assert Objection.objects.count() == 1, messages
    objection = Objection.objects.get()
    assert response["Location"] == f"/portal/objections/{objection.pk}/"
    attachment = objection.attachments.get()
    assert (private_files / attachment.stored_path).read_bytes() == PDF
    assert firm.get(f"/portal/attachments/{attachment.pk}/").status_code == 200
    page = firm.get("/portal/my-ranking/").content.decode()
    assert 'class="objection-form"' not in page  # one open objection at a time

    admin = client_for("admin")
    listing = admin.get("/portal/objections/?status=open")
    assert [o.pk for o, _overdue in listing.context["rows"]] == [objection.pk]
    response = admin.post(
        f"/portal/objections/{objection.pk}/resolve/", {"decision": "accept", "note": "已更正"}
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.status == "accepted" and objection.resolution_note == "已更正"
    detail = admin.get(f"/portal/objections/{objection.pk}/").content.decode()
    assert "/imports/" in detail and "/scoring/" in detail  # where the correction happens


def test_objection_page_refuses_bad_files_and_late_filing(client_for, published):
    from innopoints.portal.models import Objection, Publication

    firm = client_for("enterprise")
    bad = SimpleUploadedFile("x.exe", b"MZ\x00\x00", content_type="application/octet-stream")
    firm.post(
        f"/portal/publications/{published.pk}/object/",
        {f"p{published.pk}-reason": "r", f"p{published.pk}-files": [bad]},
    )
    assert not Objection.objects.exists()
    Publication.objects.filter(pk=published.pk).update(
        published_at=published.published_at - dt.timedelta(days=10),
        objection_deadline=published.published_at - dt.timedelta(days=5),
    )
    response = firm.post(
        f"/portal/publications/{published.pk}/object/", {f"p{published.pk}-reason": "late"}
    )
    assert response.status_code == 302 and not Objection.objects.exists()
    assert 'class="objection-form"' not in firm.get("/portal/my-ranking/").content.decode()


def test_attachment_served_only_to_the_firm_and_its_admins(
    client_for, users, published, private_files
):
    from innopoints.portal.actions import FileUpload, do_file_objection

    objection = do_file_objection(
        users["enterprise"], published, "r", [FileUpload("scan.png", PNG)]
    )
    attachment = objection.attachments.get()
    url = f"/portal/attachments/{attachment.pk}/"
    expected = {
        "admin": 200,
        "enterprise": 200,
        "other_admin": 404,
        "supervisor": 404,
        "bank": 404,
    }
    for role, status in expected.items():
        response = client_for(role).get(url)
        assert response.status_code == status, role
        if status == 200:
            assert b"".join(response.streaming_content) == PNG
            assert response["Content-Type"] == "image/png"
            assert "attachment" in response["Content-Disposition"]
    assert client_for(None).get(url).status_code == 302
    # the file is not under the static or web root
    from django.conf import settings

    assert not str(private_files).startswith(str(settings.STATIC_ROOT))


def test_overdue_flag_on_the_objection_list(client_for, users, published):
    from innopoints.portal.actions import do_file_objection
    from innopoints.portal.models import Objection

    objection = do_file_objection(users["enterprise"], published, "r")
    admin = client_for("admin")
    assert [o for o, overdue in admin.get("/portal/objections/").context["rows"] if overdue] == []
    old = objection.filed_at - dt.timedelta(days=11)
    Objection.objects.filter(pk=objection.pk).update(filed_at=old)
    rows = admin.get("/portal/objections/?overdue=1").context["rows"]
    assert [(o.pk, overdue) for o, overdue in rows] == [(objection.pk, True)]
    assert 'data-overdue="1"' in admin.get("/portal/objections/").content.decode()
    admin.cookies["django_language"] = "en"
    csv = admin.get("/portal/objections/?export=csv")
    frame = pl.read_csv(io.BytesIO(csv.content))
    assert frame.height == 1 and frame.get_column("Overdue").to_list() == [True]


def test_dashboard_pools_panel_counts_members_of_the_year(admin_client, zone, firms):
    """With the pools app's memberships for the year, the panel counts members per pool."""
    pools = pytest.importorskip("innopoints.pools.models")
    from django.utils import timezone

    pool = pools.Pool.objects.create(
        zone=zone, code="gazelle", name_zh="瞪羚培育库", name_en="Gazelle pool", criterion="x"
    )
    for number, member in ((1, True), (2, True), (3, False)):
        pools.PoolMembership.objects.create(
            pool=pool,
            enterprise=firms[uscc(number)],
            year=2024,
            member=member,
            status="eligible" if member else "ineligible",
            computed_at=timezone.now(),
        )
    tables = admin_client.get(f"/portal/?zone={zone.pk}&year=2024").context["tables"]
    assert tables["pools"].rows == [["瞪羚培育库", 2]]
    other_year = admin_client.get(f"/portal/?zone={zone.pk}&year=2023").context["tables"]
    assert "pools" not in other_year
