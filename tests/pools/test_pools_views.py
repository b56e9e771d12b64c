"""Pool pages: overview and compute job, the member list with filters and export, the
near-miss tab, movements, overrides, settings with problems listed by node path, a new
custom pool, and a bounded number of queries on the pool page."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import load, uscc
from tests.pools.helpers import RD_RULE, REVENUE_RULE, custom_pool

F1, F2, F3 = uscc(1), uscc(2), uscc(3)


@pytest.fixture
def admin_client(client_for):
    return client_for("admin")


@pytest.fixture
def rd_pool(users, zone):
    from innopoints.pools.actions import do_compute_pools

    pool = custom_pool(zone, "rd", RD_RULE, actor=users["admin"])
    do_compute_pools(users["admin"], zone, 2023)
    do_compute_pools(users["admin"], zone, 2024)
    return pool


def test_overview_creates_the_defaults_and_computes_as_a_job(admin_client, zone, firms):
    from innopoints.pools.models import PoolMembership

    page = admin_client.get("/pools/").content.decode()
    assert "科技型中小企业" in page and "创新型中小企业" in page and 'id="compute-form"' in page
    response = admin_client.post("/pools/", {"zone": zone.pk, "year": 2024})
    assert response.status_code == 302 and "?job=" in response["Location"]
    assert PoolMembership.objects.filter(year=2024).count() == 7 * 3
    page = admin_client.get("/pools/").content.decode()
    assert "2024" in page and 'id="computations"' in page


def test_pool_page_lists_members_and_filters(admin_client, rd_pool):
    page = admin_client.get(f"/pools/{rd_pool.pk}/?year=2024").content.decode()
    assert F2 in page and F3 in page and F1 not in page  # members only by default
    page = admin_client.get(f"/pools/{rd_pool.pk}/?year=2024&status=ineligible").content.decode()
    assert F1 in page and F2 not in page
    page = admin_client.get(f"/pools/{rd_pool.pk}/?year=2024&member=all&section=I").content.decode()
    assert F2 in page and F1 not in page and F3 not in page  # firm 2 is the only I-section one


def test_near_miss_tab_says_what_is_lacking(admin_client, rd_pool):
    page = admin_client.get(f"/pools/{rd_pool.pk}/?year=2024&tab=near").content.decode()
    assert 'id="near-misses"' in page and F1 in page and F2 not in page
    assert "最小改变" in page or "→" in page


def test_export_has_the_filtered_rows_in_the_pages_language(admin_client, rd_pool):
    response = admin_client.get(f"/pools/{rd_pool.pk}/?year=2024&member=all&export=csv")
    assert response.status_code == 200
    frame = pl.read_csv(io.BytesIO(response.content))
    assert frame.height == 3 and set(frame.to_series(0)) == {F1, F2, F3}
    response = admin_client.get(f"/pools/{rd_pool.pk}/?year=2024&tab=near&export=xlsx")
    assert response["Content-Disposition"].endswith('near-misses.xlsx"')


def test_movements_page_shows_who_left_and_why(admin_client, rd_pool):
    page = admin_client.get(f"/pools/{rd_pool.pk}/movements/?year=2024").content.decode()
    entered, left = page[: page.index('id="left"')], page[page.index('id="left"') :]
    assert F1 in left and "研发" in left
    assert not any(u in entered[entered.index('id="entered"') :] for u in (F1, F2, F3))


def test_override_form_saves_and_refuses_an_unknown_firm(admin_client, rd_pool, users):
    from innopoints.pools.models import PoolMembership, PoolOverride

    url = f"/pools/{rd_pool.pk}/overrides/"
    bad = admin_client.post(url, {"uscc": uscc(77), "year": 2024, "action": "add", "reason": "x"})
    assert bad.status_code == 400 and not PoolOverride.objects.exists()
    ok = admin_client.post(url, {"uscc": F1, "year": 2024, "action": "add", "reason": "特批"})
    assert ok.status_code == 302
    assert PoolMembership.objects.get(pool=rd_pool, year=2024, enterprise__uscc=F1).member
    assert "特批" in admin_client.get(url).content.decode()


def test_settings_list_every_problem_by_path_and_save_nothing(admin_client, rd_pool):
    bad_rule = {"all": [{">=": [{"field": "rd_intensty"}, 0.05]}, {"between": [1]}]}
    response = admin_client.post(
        f"/pools/{rd_pool.pk}/settings/",
        {"name_zh": "研发", "name_en": "R&D", "rule": json.dumps(bad_rule), "order": 1},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "rule.all[0]" in page and "rule.all[1]" in page
    rd_pool.refresh_from_db()
    assert rd_pool.rule == RD_RULE and rd_pool.order == 100


def test_settings_save_points_condition_and_order(admin_client, rd_pool):
    response = admin_client.post(
        f"/pools/{rd_pool.pk}/settings/",
        {
            "name_zh": "研发",
            "name_en": "R&D",
            "rule": json.dumps(RD_RULE),
            "points_kind": "top_stage",
            "points_value": 20,
            "order": 7,
            "active": "on",
        },
    )
    assert response.status_code == 302
    rd_pool.refresh_from_db()
    assert rd_pool.order == 7 and rd_pool.points_rule == {">=": [{"score": "pct_stage"}, 80.0]}
    page = admin_client.get(f"/pools/{rd_pool.pk}/settings/").content.decode()
    assert 'value="20.0"' in page or 'value="20"' in page


def test_new_custom_pool(admin_client, zone):
    response = admin_client.post(
        "/pools/new/",
        {
            "zone": zone.pk,
            "code": "revenue",
            "name_zh": "营收",
            "name_en": "Revenue",
            "rule": json.dumps(REVENUE_RULE),
            "order": 5,
            "active": "on",
        },
    )
    assert response.status_code == 302
    from innopoints.pools.models import Pool

    assert Pool.objects.get(zone=zone, code="revenue").rule == REVENUE_RULE


def test_pool_page_queries_are_bounded(admin_client, users, zone, firms):
    from innopoints.pools.actions import do_compute_pools

    load(zone, [n for n in range(4, 45) if n != 9])
    zone.refresh_from_db()
    pool = custom_pool(zone, "rd", RD_RULE)
    do_compute_pools(None, zone, 2024)
    for url in (
        f"/pools/{pool.pk}/?member=all",
        f"/pools/{pool.pk}/?tab=near",
        f"/pools/{pool.pk}/movements/?year=2024",
        "/pools/",
    ):
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(url)
        assert response.status_code == 200
        assert len(queries) <= 14, (url, len(queries), [q["sql"][:80] for q in queries])
    page = admin_client.get(f"/pools/{pool.pk}/?member=all").content.decode()
    assert page.count("<tr>") >= 44
