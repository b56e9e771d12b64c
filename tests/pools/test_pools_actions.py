"""Pool actions: defaults, configuration validated with node paths, computation over the
fixture firms (known passes and fails, points conditions, near-misses), overrides
(audited, applied at once and by later computations), movements between two years."""

from __future__ import annotations

import pytest

from tests.conftest import uscc
from tests.pools.helpers import RD_RULE, REVENUE_RULE, STAFF_RULE, custom_pool

F1, F2, F3 = uscc(1), uscc(2), uscc(3)


def _by_firm(pool, year=2024):
    from innopoints.pools.models import PoolMembership

    return {
        m.enterprise.uscc: m
        for m in PoolMembership.objects.filter(pool=pool, year=year).select_related("enterprise")
    }


def test_default_pools_are_created_once_and_audited(zone):
    from innopoints.audit.models import AuditEvent
    from innopoints.pools.actions import DEFAULT_POOLS, do_create_default_pools
    from innopoints.pools.models import Pool

    created = do_create_default_pools(None, zone)
    assert [p.code for p in created] == [code for code, *_ in DEFAULT_POOLS]
    assert {p.name_zh for p in created} >= {
        "科技型中小企业", "高新技术企业", "瞪羚企业", "科技领军企业", "上市后备企业",
        "专精特新中小企业", "创新型中小企业",
    }  # fmt: skip
    assert all(p.criterion == p.code and p.default for p in created)
    assert do_create_default_pools(None, zone) == []
    assert Pool.objects.filter(zone=zone).count() == 7
    assert AuditEvent.objects.filter(action="pools.pool.create").count() == 7


def test_custom_rule_problems_point_at_the_node(zone):
    from innopoints.pools.actions import PoolConfigError
    from innopoints.pools.models import Pool

    bad = {"all": [{">=": [{"field": "rd_intensty"}, 0.05]}, {"frobnicate": 1}]}
    with pytest.raises(PoolConfigError) as caught:
        custom_pool(zone, "bad", bad, points_rule={">=": [{"score": "pct_nowhere"}, 80]})
    paths = [p.path for p in caught.value.problems]
    assert any(p.startswith("rule.all[0]") for p in paths), paths
    assert any(p.startswith("rule.all[1]") for p in paths), paths
    assert any(p.startswith("points_rule") for p in paths), paths
    assert "rd_intensity" in str(caught.value)  # the suggestion for the misspelt field
    assert not Pool.objects.exists()


def test_shipped_criterion_and_parameter_overrides_are_validated(zone):
    from innopoints.pools.actions import PoolConfigError, do_create_pool

    with pytest.raises(PoolConfigError) as caught:
        do_create_pool(None, zone, code="x", name_zh="x", name_en="x", criterion="no_such")
    assert caught.value.problems[0].path == "criterion"
    with pytest.raises(PoolConfigError) as caught:
        do_create_pool(
            None, zone, code="x", name_zh="x", name_en="x", criterion="gazelle",
            params={"no_such_param": 1},
        )  # fmt: skip
    assert caught.value.problems[0].path == "params.no_such_param"
    pool = do_create_pool(
        None, zone, code="g", name_zh="x", name_en="x", criterion="gazelle",
        params={"min_cagr": 0.3},
    )  # fmt: skip
    assert pool.params == {"min_cagr": 0.3}


def test_update_pool_validates_and_audits_the_changes(zone):
    from innopoints.audit.models import AuditEvent
    from innopoints.pools.actions import PoolConfigError, do_update_pool, points_rule_for

    pool = custom_pool(zone, "rd", RD_RULE)
    with pytest.raises(PoolConfigError):
        do_update_pool(None, pool, rule={"all": [{">": [{"field": "nope"}, 1]}]})
    assert do_update_pool(None, pool, order=5, points_rule=points_rule_for("top_stage", 20))
    pool.refresh_from_db()
    assert pool.order == 5 and pool.points_rule == {">=": [{"score": "pct_stage"}, 80.0]}
    event = AuditEvent.objects.get(action="pools.pool.update")
    assert event.changes["order"] == [100, 5]
    assert do_update_pool(None, pool, order=5) is False


def test_compute_stores_every_firm_with_status_reasons_and_near_miss(firms, zone, users):
    from innopoints.audit.models import AuditEvent
    from innopoints.pools.actions import do_compute_pools

    rd = custom_pool(zone, "rd", RD_RULE)
    staff = custom_pool(zone, "staff", STAFF_RULE)
    computation = do_compute_pools(users["admin"], zone, 2024)
    assert computation.status == "done"
    assert computation.counts["rd"] == {
        "members": 2, "overrides": 0, "eligible": 2, "ineligible": 1, "unknown": 0
    }  # fmt: skip
    rows = _by_firm(rd)
    assert {u for u, m in rows.items() if m.member} == {F2, F3}
    miss = rows[F1]
    assert miss.status == "ineligible" and not miss.member
    assert "研发" in miss.reasons and "R&D" in miss.reasons_en
    assert miss.near_miss and miss.near_miss_en and miss.near_miss_blocked is False
    assert rows[F2].near_miss == ""
    assert rows[F1].industry_section == "C" and rows[F2].industry_section == "I"
    assert rows[F1].stage
    staff_miss = _by_firm(staff)[F1]
    assert "21" in staff_miss.near_miss and "22" in staff_miss.near_miss
    event = AuditEvent.objects.get(action="pools.compute")
    assert event.detail["year"] == 2024 and event.detail["memberships"] == 6
    assert event.detail["counts"]["staff"]["members"] == 2
    # recomputing replaces the rows (no duplicates)
    do_compute_pools(users["admin"], zone, 2024)
    assert len(_by_firm(rd)) == 3


def test_compute_shipped_criteria_in_one_pass(firms, zone):
    from innopoints.pools.actions import do_compute_pools, do_create_default_pools
    from innopoints.pools.models import PoolMembership

    do_create_default_pools(None, zone)
    computation = do_compute_pools(None, zone, 2024, near_miss=False)
    assert PoolMembership.objects.filter(year=2024).count() == 7 * 3
    counts = computation.counts
    assert counts["tech_leader"]["ineligible"] == 3  # revenue far below 50000万
    assert counts["innovative_sme"]["eligible"] >= 1
    leader = PoolMembership.objects.get(pool__code="tech_leader", enterprise__uscc=F2)
    assert "营业收入" in leader.reasons and "Revenue" in leader.reasons_en
    gazelle = PoolMembership.objects.get(pool__code="gazelle", enterprise__uscc=F2)
    assert gazelle.status == "ineligible" and "高新技术企业" in gazelle.reasons
    # unknown is never silently "no": firms with missing data are unknown, not members
    assert counts["listing_reserve"]["unknown"] == 3


def test_near_miss_of_a_shipped_criterion(firms, zone):
    from innopoints.pools.actions import do_compute_pools, do_create_pool

    pool = do_create_pool(
        None, zone, code="leader", name_zh="领军", name_en="Leader", criterion="tech_leader"
    )
    do_compute_pools(None, zone, 2024)
    row = _by_firm(pool)[F1]
    assert row.status == "ineligible" and row.near_miss


def test_points_condition_reads_the_scoring_run(firms, zone, users):
    from innopoints.pools.actions import do_compute_pools, points_rule_for
    from tests.scoring.helpers import scored_zone

    pool = custom_pool(zone, "top", True, points_rule=points_rule_for("top_zone", 50))
    without = do_compute_pools(None, zone, 2024)
    assert without.run is None and without.counts["top"]["unknown"] == 3
    run = scored_zone(zone, users["admin"])
    assert run.status == "done", run.error
    with_run = do_compute_pools(None, zone, 2024)
    assert with_run.run == run  # the newest finished run of the year
    assert with_run.counts["top"]["members"] == 2  # percentiles 83.3, 50, 16.7
    losers = [m for m in _by_firm(pool).values() if not m.member]
    assert len(losers) == 1 and "积分条件" in losers[0].reasons
    assert "points condition" in losers[0].reasons_en
    assert losers[0].near_miss.startswith("积分条件未满足")


def test_compute_refuses_a_year_without_data_and_records_the_failure(firms, zone):
    from innopoints.pools.actions import PoolError, do_compute_pools
    from innopoints.pools.models import PoolComputation

    custom_pool(zone, "rd", RD_RULE)
    with pytest.raises(PoolError):
        do_compute_pools(None, zone, 2019)
    assert PoolComputation.objects.get().status == "failed"


def test_scoring_hook_recomputes_the_pools_of_the_runs_year(firms, zone, users):
    from innopoints.pools.actions import after_scoring_run
    from innopoints.pools.models import PoolMembership
    from tests.scoring.helpers import scored_zone

    run = scored_zone(zone, users["admin"])
    assert after_scoring_run(run) is None  # no pool yet: nothing to do
    custom_pool(zone, "rd", RD_RULE)
    run.status = "queued"  # as the in-memory run of execute_scoring_run still says
    computation = after_scoring_run(run)
    assert computation.run == run and computation.status == "done"
    assert after_scoring_run(run.pk).status == "done"  # or called with the id
    assert PoolMembership.objects.filter(year=2024, run=run).count() == 3


def test_override_add_and_remove_are_audited_and_survive_recompute(firms, zone, users):
    from innopoints.audit.models import AuditEvent
    from innopoints.pools.actions import (
        PoolError,
        do_add_override,
        do_compute_pools,
        do_delete_override,
    )

    admin = users["admin"]
    pool = custom_pool(zone, "rd", RD_RULE)
    do_compute_pools(admin, zone, 2024)
    with pytest.raises(PoolError):
        do_add_override(admin, pool, firms[F1], 2024, "add", "  ")
    with pytest.raises(PoolError):
        do_add_override(admin, pool, firms[uscc(9)], 2024, "add", "other zone")
    added = do_add_override(admin, pool, firms[F1], 2024, "add", "区管委会决定纳入")
    removed = do_add_override(admin, pool, firms[F2], 2024, "remove", "数据存疑")
    rows = _by_firm(pool)
    assert rows[F1].member and rows[F1].source == "override" and not rows[F1].computed_member
    assert not rows[F2].member and rows[F2].override_reason == "数据存疑"
    events = AuditEvent.objects.filter(action="pools.override.add").order_by("id")
    assert [e.detail["action"] for e in events] == ["add", "remove"]
    assert events[0].changes["reason"] == [None, "区管委会决定纳入"]
    do_compute_pools(admin, zone, 2024)  # the overrides apply to every later computation
    rows = _by_firm(pool)
    assert rows[F1].member and not rows[F2].member
    do_delete_override(admin, removed)
    assert _by_firm(pool)[F2].member and _by_firm(pool)[F2].source == "computed"
    assert AuditEvent.objects.filter(action="pools.override.delete").count() == 1
    assert added.pk


def test_movements_between_two_years_say_why(firms, zone):
    from innopoints.pools.access import visible_memberships
    from innopoints.pools.actions import do_add_override, do_compute_pools
    from innopoints.pools.models import PoolMembership
    from innopoints.pools.results import movements
    from tests.conftest import make_user

    rd = custom_pool(zone, "rd", RD_RULE)
    revenue = custom_pool(zone, "rev", REVENUE_RULE)
    do_compute_pools(None, zone, 2023)
    do_compute_pools(None, zone, 2024)
    do_add_override(None, revenue, firms[F3], 2024, "remove", "迁出园区")
    admin = make_user("a", "zone_admin", zones=[zone])
    scope = visible_memberships(admin)
    moves = movements(scope, rd, 2024)
    assert [m.uscc for m in moves.entered] == [] and [m.uscc for m in moves.left] == [F1]
    assert "研发" in moves.left[0].why and moves.stayed == 2
    moves = movements(scope, revenue, 2024, "en")
    assert [m.uscc for m in moves.entered] == [F2] and "Revenue" in moves.entered[0].why
    assert [m.uscc for m in moves.left] == [F3] and moves.left[0].why == "Override: 迁出园区"
    assert PoolMembership.objects.filter(year=2023, member=True, pool=rd).count() == 3


def test_a_scoring_run_recomputes_the_pools_itself(firms, zone, users):
    from innopoints.pools.models import PoolComputation, PoolMembership
    from tests.scoring.helpers import scored_zone

    custom_pool(zone, "rd", RD_RULE)
    run = scored_zone(zone, users["admin"])  # runs the scoring job inline
    computation = PoolComputation.objects.get(zone=zone, year=run.year)
    assert computation.run == run and computation.status == "done"
    assert PoolMembership.objects.filter(year=run.year, run=run).count() == 3


def test_pool_edits_bump_the_zone_version_the_live_path_reads(zone):
    """Every pool create and update bumps `Zone.pools_version` (a no-op update does
    not), so `live.active_pools` on a freshly read zone row (as each request reads it,
    in any process) sees the new configuration without asking for the pools again."""
    from innopoints.pools.actions import do_update_pool
    from innopoints.pools.live import active_pools
    from innopoints.zones.models import Zone

    def fresh():
        return Zone.objects.get(pk=zone.pk)

    assert fresh().pools_version == 0 and active_pools(fresh()) == ()
    first = custom_pool(zone, "rd", RD_RULE)
    second = custom_pool(zone, "revenue", REVENUE_RULE)
    assert fresh().pools_version == 2
    assert [p.code for p in active_pools(fresh())] == ["rd", "revenue"]
    assert not do_update_pool(None, first, rule=RD_RULE)  # nothing changed
    assert fresh().pools_version == 2
    assert do_update_pool(None, second, active=False)
    assert fresh().pools_version == 3
    assert [p.code for p in active_pools(fresh())] == ["rd"]
    assert do_update_pool(None, first, rule=STAFF_RULE)
    (pool,) = active_pools(fresh())
    assert pool.rule == STAFF_RULE
