"""The portrait's numbers agree with the stored FirmScore and an independent recomputation;
guidance: the top suggestion really gains its points, missing data names missing fields."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.conftest import uscc

OWN = uscc(1)


def _portrait(firms, uscc_code=OWN, year=2024, lang="zh"):
    from innopoints.enterprises.models import Enterprise
    from innopoints.portrait.results import build_portrait

    enterprise = Enterprise.objects.select_related("zone").get(uscc=uscc_code)
    return build_portrait(enterprise, year, lang)


def test_score_block_agrees_with_the_stored_firm_score(run, firms):
    from innopoints.scoring.models import FirmScore

    p = _portrait(firms)
    stored = FirmScore.objects.get(run=run, enterprise__uscc=OWN)
    assert p["scored"] and p["run"]["id"] == run.pk
    assert p["score"]["total"] == pytest.approx(stored.total)
    assert p["score"]["band"] == stored.band
    for group in ("zone", "stage", "industry"):
        assert p["score"]["ranks"][group]["rank"] == getattr(stored, f"rank_{group}")
        assert p["score"]["ranks"][group]["n"] == getattr(stored, f"n_{group}")
        assert p["score"]["ranks"][group]["pct"] == pytest.approx(getattr(stored, f"pct_{group}"))
    assert p["run"]["run_hash"] == run.run_hash and not p["run"]["data_changed"]
    for row in p["indicators"]:
        assert row["points"] == pytest.approx(stored.indicator_points[row["id"]])
        assert row["recomputed_points"] == pytest.approx(row["points"])
    classes = {c["id"]: c["points"] for c in p["classes"]}
    assert classes == pytest.approx({k: stored.node_points[k] for k in ("tech", "ops")})
    interval = p["score"]["rank_interval"]
    assert interval["p05"] <= interval["p50"] <= interval["p95"]


def test_indicator_table_matches_an_independent_recomputation(run, firms, zone):
    """Value, percentile and peer median recomputed with numpy from the year's panel."""
    from innopoints.enterprises.panel import zone_derived

    p = _portrait(firms)
    frame = zone_derived(zone).filter(pl.col("year") == 2024)
    stage = p["identity"]["stage"]
    peers = frame.filter(pl.col("stage") == stage)  # the tiny model's default peer group is none
    by_id = {r["id"]: r for r in p["indicators"]}
    for ind, field in (("revenue", "revenue"), ("patents", "invention_patents")):
        values = frame.get_column(field).drop_nulls().to_numpy().astype(float)
        mine = float(frame.filter(pl.col("uscc") == OWN).get_column(field)[0])
        below, equal = (values < mine).sum(), (values == mine).sum()
        expected_pct = 100.0 * (below + 0.5 * equal) / values.size
        assert by_id[ind]["value"] == pytest.approx(mine)
        assert by_id[ind]["percentile"] == pytest.approx(expected_pct)
        assert by_id[ind]["peer_median"] == pytest.approx(float(np.median(values)))
    assert peers.height >= 1
    marks = [r["mark"] for r in p["indicators"]]
    assert marks.count("strength") <= 3 and marks.count("weakness") <= 3
    strengths = [r for r in p["indicators"] if r["mark"] == "strength"]
    others = [r for r in p["indicators"] if not r["mark"] and r["percentile"] is not None]
    if strengths and others:
        assert min(r["percentile"] for r in strengths) >= max(r["percentile"] for r in others)


def test_top_suggestion_raises_the_total_by_the_stated_points(run, firms, zone):
    from innopoints.engine.scoring import fit
    from innopoints.scoring.actions import model_of, year_frame

    p = _portrait(firms)
    suggestions = p["guidance"]["suggestions"]
    assert suggestions, "a middling firm has something to gain"
    assert [s["per_effort"] for s in suggestions] == sorted(
        (s["per_effort"] for s in suggestions), reverse=True
    )
    top = suggestions[0]
    frame = year_frame(zone, 2024)
    fitted = fit(frame, model_of(run.model_version))
    row = frame.filter(pl.col("uscc") == OWN)
    before = fitted.what_if(row).scores.get_column("total")[0]
    after = fitted.what_if(row, {top["field"]: top["field_value"]}).scores.get_column("total")[0]
    assert after - before == pytest.approx(top["gain"], abs=1e-3)
    assert top["new_total"] == pytest.approx(after, abs=1e-3)
    assert p["guidance"]["base_total"] == pytest.approx(p["score"]["total"], abs=1e-3)


def test_what_if_many_equals_one_what_if_per_change(run, firms, zone):
    from innopoints.engine.scoring import fit
    from innopoints.portrait.guidance import what_if_many
    from innopoints.scoring.actions import model_of, year_frame

    frame = year_frame(zone, 2024)
    fitted = fit(frame, model_of(run.model_version))
    row = frame.filter(pl.col("uscc") == uscc(5))
    changes = [{}, {"revenue": 99999.0}, {"invention_patents": 40}, {"tech_staff": 1}]
    batch = what_if_many(fitted, row, changes).get_column("total").to_list()
    single = [fitted.what_if(row, c or None).scores.get_column("total")[0] for c in changes]
    assert batch == pytest.approx(single)


def test_next_band_needs_the_stated_points(run, firms, zone):

    p = _portrait(firms)
    target = p["guidance"]["next_band"]
    if target["code"] is None or not target["reachable"]:
        pytest.skip("the firm is in the top band")
    assert target["points_needed"] == pytest.approx(
        max(0.0, target["needed_total"] - p["score"]["total"]), abs=1e-6
    )


def test_missing_data_suggestions_name_the_missing_fields(run, firms, zone):
    """Firm 1 without tech staff: the missing-data list names the field and its gain."""
    from innopoints.enterprises.models import YearlyData

    YearlyData.objects.filter(enterprise__uscc=OWN, year=2024).update(revenue=None)
    zone.refresh_from_db()
    zone.data_version += 1
    zone.save(update_fields=["data_version"])
    from innopoints.scoring.actions import do_start_scoring_run

    do_start_scoring_run(None, zone, 2024)
    p = _portrait(firms)
    missing = {m["indicator"]: m for m in p["guidance"]["missing_data"]}
    assert "revenue" in missing
    assert missing["revenue"]["fields"] == ["revenue"]
    assert missing["revenue"]["gain_at_median"] > 0
    # rd_intensity is revenue-derived: the missing input named is revenue too
    assert "revenue" in missing["rd"]["fields"]
    row = next(r for r in p["indicators"] if r["id"] == "revenue")
    assert row["missing"] and row["points"] == 0


def test_unscored_year_gives_identity_and_trends_only(run, firms):
    p = _portrait(firms, year=2023)
    assert not p["scored"] and p["identity"]["uscc"] == OWN
    assert [t["year"] for t in p["trends"]["scores"]] == [2024]


def test_english_portrait(run, firms):
    p = _portrait(firms, lang="en")
    assert p["indicators"][0]["name"] == "R&D intensity"
