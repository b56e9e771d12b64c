"""The synthetic demo zone: shapes, validity, consistency, realism and the wide panel."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from innopoints.demo import DemoZone, generate_zone, write_zone
from innopoints.demo.generator import INDUSTRIES
from innopoints.standard.catalogue import (
    ENTERPRISE_FIELDS,
    NEGATIVE_TYPES,
    QUALIFICATION_TYPES,
    YEARLY_FIELDS,
    Kind,
)
from innopoints.standard.codes import (
    industry_problem,
    industry_problem_expr,
    make_uscc,
    region_problem,
    uscc_problem,
    uscc_problem_expr,
)
from innopoints.standard.derived import derive

N, YEARS, LAST = 3000, 4, 2025


@pytest.fixture(scope="module")
def zone() -> DemoZone:
    """A generated zone (shadows the database `zone` fixture of tests/conftest.py)."""
    return generate_zone(N, years=YEARS, seed=11, last_year=LAST)


@pytest.fixture(scope="module")
def panel(zone: DemoZone) -> pl.DataFrame:
    return zone.wide_panel()


@pytest.fixture(scope="module")
def derived(panel: pl.DataFrame) -> pl.DataFrame:
    return derive(panel).collect()


def test_deterministic_for_a_seed() -> None:
    a, b = generate_zone(250, seed=5), generate_zone(250, seed=5)
    for name in ("enterprises", "yearly", "qualifications", "negatives"):
        assert getattr(a, name).equals(getattr(b, name)), name
    c = generate_zone(250, seed=6)
    assert not a.enterprises.equals(c.enterprises)


def test_shapes_and_dtypes(zone: DemoZone) -> None:
    ent = zone.enterprises
    assert ent.height == N
    assert ent.columns == [f.code for f in ENTERPRISE_FIELDS]
    for f in ENTERPRISE_FIELDS:
        assert ent.schema[f.code] == f.polars_dtype, f.code
    yearly = zone.yearly
    assert yearly.columns == ["uscc", *[f.code for f in YEARLY_FIELDS]]
    for f in YEARLY_FIELDS:
        assert yearly.schema[f.code] == f.polars_dtype, f.code
    assert yearly.select(pl.struct("uscc", "year").is_unique().all()).item()
    assert set(yearly["uscc"].unique()) == set(ent["uscc"])  # every firm has a row
    assert yearly["year"].min() == LAST - YEARS + 1 and yearly["year"].max() == LAST
    assert list(zone.qualifications.columns) == [
        "uscc",
        "type",
        "certificate_no",
        "valid_from",
        "valid_until",
    ]
    assert list(zone.negatives.columns) == ["uscc", "type", "occurred_on", "cleared_on"]
    assert set(zone.qualifications["type"]) <= set(QUALIFICATION_TYPES)
    assert set(zone.negatives["type"]) <= set(NEGATIVE_TYPES)


def test_firms_enter_during_the_window(zone: DemoZone) -> None:
    ent = zone.enterprises
    reg = ent["registered_on"]
    assert reg.max() <= date(LAST, 12, 31)
    span_years = (reg.max() - reg.min()).days / 365.25
    assert span_years > 20
    rows = zone.yearly.group_by("uscc").len()
    counts = rows["len"].value_counts()
    assert counts.height >= 3  # new firms have fewer rows
    joined = ent.join(rows, on="uscc")
    young = joined.filter(pl.col("registered_on").dt.year() > LAST - YEARS + 1)
    assert young.height > 0.05 * N
    assert (young["len"] < YEARS).all()
    # a yearly row never precedes the registration year
    early = zone.yearly.join(ent, on="uscc").filter(
        pl.col("year") < pl.col("registered_on").dt.year()
    )
    assert early.height == 0


def test_usccs_valid_unique_and_regional(zone: DemoZone) -> None:
    usccs = zone.enterprises["uscc"]
    assert usccs.is_unique().all()
    assert zone.enterprises.select(uscc_problem_expr(pl.col("uscc")).is_null().all()).item()
    for value in random.Random(1).sample(usccs.to_list(), 200):
        assert uscc_problem(value) is None
        assert make_uscc(value[:17]) == value
    assert (usccs.str.slice(2, 6) == "130100").all()
    prefixes = usccs.str.slice(0, 2).value_counts()
    shares = dict(zip(prefixes["uscc"], prefixes["count"] / N, strict=True))
    assert shares["91"] > 0.9 and len(shares) >= 3


def test_names_unique_and_chinese(zone: DemoZone) -> None:
    names = zone.enterprises["name"]
    assert names.is_unique().all()
    assert (names.str.len_chars() <= 100).all()
    assert names.str.starts_with("石家庄").mean() > 0.6
    assert names.str.ends_with("有限公司").mean() > 0.9
    assert names.str.ends_with("股份有限公司").mean() > 0.03


def test_industry_and_region_codes_valid(zone: DemoZone) -> None:
    for group in INDUSTRIES:
        for code, _ in group.codes:
            assert industry_problem(code) is None, code
    ent = zone.enterprises
    assert ent.select(industry_problem_expr(pl.col("industry_code")).is_null().all()).item()
    assert all(region_problem(code) is None for code in ent["region_code"].unique())
    divisions = ent["industry_code"].str.slice(0, 3).value_counts(sort=True)
    top = set(divisions["industry_code"].head(6))
    assert {"I65", "C39"} <= top
    assert divisions.height >= 15


def test_cross_field_rules_always_hold(zone: DemoZone) -> None:
    y = zone.yearly
    pairs = [
        ("tech_staff", "staff_total"),
        ("rd_staff", "staff_total"),
        ("main_revenue", "revenue"),
        ("high_tech_revenue", "revenue"),
        ("export_revenue", "revenue"),
        ("rd_expense_domestic", "rd_expense"),
    ]
    for part, whole in pairs:
        bad = y.filter(pl.col(part) > pl.col(whole))
        assert bad.height == 0, (part, whole)
    for f in YEARLY_FIELDS:
        if f.minimum is not None and f.code != "year":
            assert y.filter(pl.col(f.code) < f.minimum).height == 0, f.code
        if f.maximum is not None:
            assert y.filter(pl.col(f.code) > f.maximum).height == 0, f.code
        if f.kind == Kind.ENUM:
            assert set(y[f.code].drop_nulls().unique()) <= set(f.choices), f.code
    ent = zone.enterprises
    assert ent.filter(pl.col("registered_capital") < 0).height == 0
    assert ent.filter(pl.col("niche_years") < 0).height == 0
    assert set(ent["listing_status"]) <= {"none", "reserve", "listed"}
    # the derivable fields are left for derive()
    assert y["net_assets"].is_null().all() and y["class1_ip"].is_null().all()


def test_some_but_not_too_many_missing_cells(zone: DemoZone) -> None:
    y = zone.yearly
    core = ["revenue", "staff_total", "rd_expense", "total_assets", "invention_patents"]
    core_share = y.select(pl.col(core).null_count()).sum_horizontal().item() / (y.height * 5)
    assert 0.005 < core_share < 0.06
    assert y["market_share_national"].null_count() / y.height > 0.2
    optional = [
        f.code for f in YEARLY_FIELDS[1:] if f.code not in ("net_assets", "class1_ip", "class2_ip")
    ]
    overall = y.select(pl.col(optional).null_count()).sum_horizontal().item() / (
        y.height * len(optional)
    )
    assert 0.03 < overall < 0.12


def test_heavy_tails_and_correlations(derived: pl.DataFrame) -> None:
    last = derived.filter(pl.col("year") == LAST)
    revenue = last["revenue"].drop_nulls()
    assert revenue.quantile(0.99) / revenue.median() > 20
    staff = last["staff_total"].drop_nulls()
    assert staff.quantile(0.99) / staff.median() > 10
    by_division = (
        last.with_columns(div=pl.col("industry_code").str.slice(0, 3))
        .group_by("div")
        .agg(pl.col("rd_intensity").median())
    )
    med = dict(zip(by_division["div"], by_division["rd_intensity"], strict=True))
    assert med["I65"] > med["C26"] and med["M73"] > med["C34"]
    pair = last.select(
        pl.col("rd_intensity").rank(), pl.col("invention_patents").cast(pl.Float64).rank()
    ).drop_nulls()
    assert np.corrcoef(pair.to_numpy().T)[0, 1] > 0.15
    # most firms grow, some decline
    growth = derived["revenue_growth"].drop_nulls()
    assert 0.05 < (growth < 0).mean() < 0.5
    assert growth.median() > 0


def test_wide_panel_columns(zone: DemoZone, panel: pl.DataFrame) -> None:
    assert panel.height == zone.yearly.height
    for kind in QUALIFICATION_TYPES:
        assert panel.schema[f"has_{kind}"] == pl.Boolean
    for kind in NEGATIVE_TYPES:
        assert panel.schema[f"neg_{kind}"] == pl.Boolean
    for f in ENTERPRISE_FIELDS:
        assert f.code in panel.columns
    assert panel.select(pl.col("^has_.*$", "^neg_.*$").null_count()).sum_horizontal().item() == 0
    assert panel.filter(pl.col("neg_abnormal_operation")).height > 0


def test_wide_panel_flags_match_the_tables(zone: DemoZone, panel: pl.DataFrame) -> None:
    quals = {}
    for row in zone.qualifications.iter_rows(named=True):
        quals.setdefault((row["uscc"], row["type"]), []).append(row)
    negs = {}
    for row in zone.negatives.iter_rows(named=True):
        negs.setdefault((row["uscc"], row["type"]), []).append(row)
    flagged = panel.filter(pl.any_horizontal(pl.col("^neg_.*$")))
    sample = pl.concat([panel.sample(400, seed=3), flagged.head(100)])
    for row in sample.iter_rows(named=True):
        day = date(row["year"], 12, 31)
        for kind in QUALIFICATION_TYPES:
            expected = any(
                q["valid_from"] <= day and (q["valid_until"] is None or day <= q["valid_until"])
                for q in quals.get((row["uscc"], kind), [])
            )
            assert row[f"has_{kind}"] == expected, (row["uscc"], row["year"], kind)
        for kind in NEGATIVE_TYPES:
            expected = any(
                r["occurred_on"] <= day and (r["cleared_on"] is None or r["cleared_on"] > day)
                for r in negs.get((row["uscc"], kind), [])
            )
            assert row[f"neg_{kind}"] == expected, (row["uscc"], row["year"], kind)


def test_wide_panel_boundaries_on_31_december() -> None:
    small = generate_zone(3, years=1, seed=2, last_year=2024)
    usccs = small.enterprises["uscc"].to_list()
    d = date
    quals = pl.DataFrame(
        {
            "uscc": [usccs[0], usccs[1], usccs[2], usccs[0]],
            "type": ["high_tech", "high_tech", "high_tech", "gazelle"],
            "certificate_no": ["a", "b", "c", "d"],
            "valid_from": [d(2021, 12, 31), d(2022, 1, 1), d(2024, 12, 31), d(2020, 1, 1)],
            "valid_until": [d(2024, 12, 30), d(2024, 12, 31), None, d(2025, 1, 1)],
        }
    )
    negs = pl.DataFrame(
        {
            "uscc": [usccs[0], usccs[1], usccs[2]],
            "type": ["abnormal_operation"] * 3,
            "occurred_on": [d(2024, 12, 31), d(2023, 5, 1), d(2025, 1, 1)],
            "cleared_on": [None, d(2024, 12, 31), None],
        }
    )
    zone = DemoZone(small.enterprises, small.yearly, quals, negs)
    flags = {r["uscc"]: r for r in zone.wide_panel().iter_rows(named=True)}
    assert flags[usccs[0]]["has_high_tech"] is False  # expired on 30 Dec
    assert flags[usccs[1]]["has_high_tech"] is True  # valid until 31 Dec inclusive
    assert flags[usccs[2]]["has_high_tech"] is True  # starts on 31 Dec, open-ended
    assert flags[usccs[0]]["has_gazelle"] is True
    assert flags[usccs[0]]["neg_abnormal_operation"] is True  # occurred on 31 Dec
    assert flags[usccs[1]]["neg_abnormal_operation"] is False  # cleared on 31 Dec
    assert flags[usccs[2]]["neg_abnormal_operation"] is False  # not yet occurred


def test_high_tech_mostly_when_criteria_met(derived: pl.DataFrame) -> None:
    last = derived.filter(pl.col("year") == LAST)
    share = last["has_high_tech"].mean()
    assert 0.1 < share < 0.45
    ts = last.filter(pl.col("tech_staff_ratio").is_not_null())
    meeting = ts.filter(pl.col("tech_staff_ratio") >= 0.1)["has_high_tech"].mean()
    failing = ts.filter(pl.col("tech_staff_ratio") < 0.1)["has_high_tech"].mean()
    assert meeting > 3 * failing
    holders = ts.filter(pl.col("has_high_tech"))
    assert (holders["tech_staff_ratio"] >= 0.1).mean() > 0.9
    threshold = (
        pl.when(pl.col("revenue") <= 5000)
        .then(0.05)
        .when(pl.col("revenue") <= 20000)
        .then(0.04)
        .otherwise(0.03)
    )
    rd_ok = last.filter(pl.col("rd_intensity_3y").is_not_null()).with_columns(
        ok=pl.col("rd_intensity_3y") >= threshold
    )
    assert rd_ok.filter(pl.col("has_high_tech"))["ok"].mean() > 0.75
    assert rd_ok.filter(~pl.col("has_high_tech"))["ok"].mean() < 0.6


def test_other_qualifications_plausible(derived: pl.DataFrame, zone: DemoZone) -> None:
    last = derived.filter(pl.col("year") == LAST)
    shares = {k: last[f"has_{k}"].mean() for k in QUALIFICATION_TYPES}
    assert 0.2 < shares["tech_sme"] < 0.6
    assert shares["little_giant"] < shares["srdi_sme"] < shares["innovative_sme"]
    assert shares["gazelle"] < shares["high_tech"]
    small = last.filter(pl.col("staff_total") <= 500)
    big = last.filter(pl.col("staff_total") > 500)
    assert small["has_tech_sme"].mean() > 3 * max(big["has_tech_sme"].mean(), 0.01)
    quals = zone.qualifications
    assert (quals["valid_until"] >= quals["valid_from"]).all()
    assert quals["certificate_no"].is_unique().all()
    high_tech = quals.filter(pl.col("type") == "high_tech")
    years = (high_tech["valid_until"] - high_tech["valid_from"]).dt.total_days()
    assert years.min() >= 3 * 365 - 1 and years.max() <= 3 * 366
    sme = quals.filter(pl.col("type") == "tech_sme")
    assert (sme["valid_until"].dt.year() == sme["valid_from"].dt.year()).all()


def test_negative_records_are_few(zone: DemoZone) -> None:
    negs = zone.negatives
    firms = negs["uscc"].n_unique()
    assert 0.008 * N <= firms <= 0.025 * N
    assert (negs["cleared_on"].drop_nulls() <= date(LAST, 12, 31)).all()
    cleared = negs.filter(pl.col("cleared_on").is_not_null())
    assert (cleared["cleared_on"] > cleared["occurred_on"]).all()
    assert negs["type"].value_counts(sort=True)["type"][0] == "abnormal_operation"


def test_exact_threshold_edge_cases(derived: pl.DataFrame) -> None:
    assert derived.filter(pl.col("tech_staff_ratio") == 0.1).height > 0
    assert derived.filter(pl.col("rd_intensity") == 0.05).height > 0
    assert derived.filter(pl.col("high_tech_revenue_ratio") == 0.6).height > 0
    assert derived.filter((pl.col("staff_total") == 500) & (pl.col("revenue") == 20000)).height > 0


def test_derive_runs_on_the_panel(panel: pl.DataFrame, derived: pl.DataFrame) -> None:
    assert derived.height == panel.height
    for code in ("rd_intensity", "rd_intensity_3y", "age_years", "stage", "net_assets"):
        assert code in derived.columns
    assert derived["net_assets"].null_count() < 0.1 * derived.height
    stages = set(derived["stage"].drop_nulls())
    assert stages == {"startup", "growth", "mature"}


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_write_zone(tmp_path: Path, fmt: str) -> None:
    zone = generate_zone(40, years=2, seed=4)
    paths = write_zone(zone, tmp_path, fmt)  # type: ignore[arg-type]
    assert [p.name for p in paths] == [
        f"{stem}.{fmt}"
        for stem in ("panel", "enterprises", "yearly", "qualifications", "negatives")
    ]
    panel = zone.wide_panel()
    if fmt == "csv":
        back = pl.read_csv(paths[0], infer_schema_length=None)
    elif fmt == "parquet":
        back = pl.read_parquet(paths[0])
        assert back.equals(panel)
    else:
        back = pl.read_excel(paths[0])
    assert back.height == panel.height
    assert back.columns == panel.columns
    assert set(back["uscc"]) == set(panel["uscc"])


def test_import_validation_finds_no_errors(tmp_path: Path) -> None:
    from innopoints.standard import tabular

    zone = generate_zone(500, seed=9)
    paths = write_zone(zone, tmp_path, "csv")
    workbook = tabular.read_files(paths[1:])  # the four tables, not the panel
    result = tabular.validate(workbook, zone_code="SJZ-HTZ", today=date(LAST + 1, 6, 30))
    assert result.errors.height == 0, result.errors.head(5)
    assert result.yearly.height == zone.yearly.height
    assert result.qualifications.height == zone.qualifications.height
    assert result.negatives.height == zone.negatives.height


def test_parameters() -> None:
    zone = generate_zone(
        60, years=6, seed=3, zone_code="SZ-NHT", last_year=2024, region_code="440300"
    )
    assert set(zone.enterprises["zone"]) == {"SZ-NHT"}
    assert (zone.enterprises["uscc"].str.slice(2, 6) == "440300").all()
    assert zone.yearly["year"].max() == 2024 and zone.yearly["year"].min() >= 2019
    assert zone.enterprises["name"].str.contains("深圳|广东").all()
    with pytest.raises(ValueError):
        generate_zone(10, region_code="999999")
    with pytest.raises(ValueError):
        generate_zone(0)
