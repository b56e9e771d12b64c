"""The row-wise path (a few rows, e.g. one firm in the platform) gives exactly what the
vectorised engine gives: status, score interval, reasons, missing and parts."""

from __future__ import annotations

import polars as pl
import pytest
import yaml

from innopoints.engine.rules import evaluate, evaluate_wide, load_criterion, official_criteria
from innopoints.engine.rules.evaluate import _compile_all, needs_of, prepare
from innopoints.engine.rules.rowwise import evaluate_rows, fmt_value, num_text
from innopoints.engine.rules.testcases import build_panel
from innopoints.engine.rules.testcases import test_files as criteria_test_files

FIELDS = ("status", "score", "score_min", "score_max", "reasons", "missing", "parts")


def _vectorised(prepared: pl.DataFrame, compilers, lang: str) -> list[dict]:
    """The vectorised outputs of every criterion for every row of a prepared frame."""
    from innopoints.engine.rules.evaluate import _merged_stages, output_exprs

    staged = prepared.lazy()
    shared = lang == "zh"  # zh: value texts staged once for all criteria; en: inline
    for exprs in _merged_stages(compilers, lang if shared else None):
        staged = staged.with_columns(exprs)
    frame = staged.collect()
    return [frame.select(output_exprs(c, lang, staged_texts=shared)).to_dicts() for c in compilers]


def _assert_same(prepared: pl.DataFrame, compilers, lang: str) -> int:
    want = _vectorised(prepared, compilers, lang)
    got = evaluate_rows(prepared.to_dicts(), compilers, lang)
    diffs = []
    for k, c in enumerate(compilers):
        for i, row in enumerate(got):
            for f in FIELDS:
                if row[k][f] != want[k][i][f]:
                    diffs.append((c.c.id, i, f, row[k][f], want[k][i][f]))
    assert not diffs, diffs[:5]
    return len(got) * len(compilers)


@pytest.mark.parametrize("path", criteria_test_files(), ids=lambda p: p.name)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rowwise_equals_vectorised_on_yaml_cases(path, lang) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    panel = build_panel(doc)
    params = [c.get("params") for c in doc["cases"] if c.get("params")] or [None]
    criteria = [load_criterion(doc["criterion"], p) for p in params[:3]]
    compilers = _compile_all(criteria)
    prepared = prepare(panel, needs_of(compilers)).collect()
    assert _assert_same(prepared, compilers, lang) >= 10


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rowwise_equals_vectorised_on_generated_firms(lang) -> None:
    from bench.bench_rules import variants
    from innopoints.demo.generator import generate_zone

    panel = generate_zone(enterprises=300, years=4, seed=7).wide_panel()
    criteria = official_criteria() + variants(40)[len(official_criteria()) :]
    compilers = _compile_all(criteria)
    prepared = prepare(panel, needs_of(compilers)).collect()
    assert _assert_same(prepared, compilers, lang) > 10_000


def test_small_panels_take_the_row_path_with_identical_output() -> None:
    from innopoints.demo.generator import generate_zone

    panel = generate_zone(enterprises=60, years=4, seed=9).wide_panel()
    year = int(panel["year"].max())
    criteria = official_criteria()
    whole = evaluate(panel, criteria, year=year)  # vectorised (many rows)
    for uscc in panel["uscc"].unique().sort().head(12):
        one = panel.filter(pl.col("uscc") == uscc)
        small = evaluate(one, criteria, year=year)  # row-wise
        assert small.equals(whole.filter(pl.col("uscc") == uscc)), uscc
        compilers = _compile_all(criteria)
        wide = evaluate_wide(one, compilers, year=year)
        for c in compilers:
            key = f"{c.i}:{c.c.id}"
            ref = whole.filter((pl.col("uscc") == uscc) & (pl.col("criterion") == c.c.id))
            assert wide[f"{key}:status"].to_list() == ref["status"].to_list()
            assert wide[f"{key}:reasons"].to_list() == ref["reasons"].to_list()


def test_number_formatting_matches_polars() -> None:
    import random

    rng = random.Random(3)
    vals = [rng.uniform(-1, 1) * 10 ** rng.randint(-4, 12) for _ in range(20_000)]
    vals += [k / 200 for k in range(-2000, 2000)] + [0.0, -0.0, 2.675, 1.005, 0.125]
    s = pl.Series(vals, dtype=pl.Float64)
    polars = pl.select(s.round(2).cast(pl.String).str.strip_suffix(".0")).to_series()
    assert [num_text(v) for v in vals] == polars.to_list()
    ints = pl.select(s.round(0).cast(pl.Int64).cast(pl.String)).to_series()
    assert [fmt_value(v, "int", "zh") for v in vals] == ints.to_list()


def test_reference_and_row_path_agree_on_an_amount_with_a_missing_value() -> None:
    """A score part whose formula reads a missing value (an unknown amount) has no bound:
    the per-row reference adds nothing for it, as the row-wise path does (it used to
    raise TypeError)."""
    from innopoints.engine.rules import load_criterion
    from innopoints.engine.rules.compiler import compile_criterion
    from innopoints.engine.rules.reference import evaluate_row

    criterion = load_criterion(
        {
            "id": "amount",
            "name": {"zh": "金额", "en": "Amount"},
            "rules": {">=": [{"field": "staff_total"}, 1]},
            "score": {
                "parts": [
                    {
                        "name": "amount",
                        "zh": "金额",
                        "en": "Amount",
                        "max": 100,
                        "value": {"min": [{"*": [{"field": "rd_expense"}, 0.1]}, 100]},
                    }
                ]
            },
        }
    )
    compiled = compile_criterion(criterion, 0)
    for rd in (None, 300.0, 2000.0):
        row = {"uscc": "x", "year": 2025, "staff_total": 10, "rd_expense": rd}
        status, low, high = evaluate_row(criterion, row)
        [[fast]] = evaluate_rows([row], [compiled])
        assert status == fast["status"] == "eligible"
        assert (low, high) == (fast["score_min"], fast["score_max"])
    assert evaluate_row(criterion, {**row, "rd_expense": 300.0})[1:] == (30.0, 30.0)


def test_enumeration_codes_read_as_chinese_labels_in_both_paths() -> None:
    """研发机构级别 and bands show as 省级 / 领跑 in Chinese reasons (codes in English),
    identically in the vectorised and the row-wise path."""
    from innopoints.engine.rules import evaluate, load_criterion
    from innopoints.engine.rules.compiler import compile_criterion

    criterion = load_criterion(
        {
            "id": "lab",
            "name": {"zh": "研发机构", "en": "R&D institution"},
            "rules": {">=": [{"field": "rd_institution_level"}, "provincial"]},
        }
    )
    panel = pl.DataFrame(  # more rows than ROW_LIMIT: `evaluate` takes the vectorised path
        {
            "uscc": [f"f{k:02d}" for k in range(40)],
            "year": [2025] * 40,
            "rd_institution_level": ["national", "municipal"] * 20,
        }
    )
    compiled = compile_criterion(criterion, 0)
    for lang, shown, wanted in (("zh", "国家级", "省级"), ("en", "national", "provincial")):
        fast = evaluate(panel, [criterion], lang=lang, run_derive=False).sort("uscc")
        rows = evaluate_rows(panel.to_dicts(), [compiled], lang)
        assert fast["reasons"].to_list() == [r[0]["reasons"] for r in rows]
        assert shown in rows[0][0]["reasons"] and wanted in rows[0][0]["reasons"]


@pytest.mark.parametrize("op", [">=", ">", "<=", "<"])
def test_threshold_group_equals_one_test_per_threshold(op) -> None:
    """The program's grouped comparison (one value against many thresholds, cut by
    bisection) gives what the per-row reference gives per threshold, at the boundaries
    (thresholds equal to each other and to the value), for missing and NaN values and
    for intervals (a ratio whose denominator is missing), in both output paths."""
    from innopoints.engine.rules.compiler import compile_criterion
    from innopoints.engine.rules.reference import evaluate_row
    from innopoints.engine.rules.rowwise import program_of

    thresholds = [0.3, 0.25, 0.0, -2.0, 50.0, 0.3, 1e-12, 7]
    criteria = [
        load_criterion(
            {
                "id": f"t{k}",
                "name": {"zh": f"阈值{k}", "en": f"Threshold {k}"},
                "rules": {op: [{"field": "rd_expense"}, t]},
            }
        )
        for k, t in enumerate(thresholds)
    ]
    compilers = [compile_criterion(c, k) for k, c in enumerate(criteria)]
    program = program_of(compilers, "zh")
    assert len(program.groups) == 1 and len(program.groups[0].members) == len(set(thresholds))
    nan = float("nan")
    values = [None, nan, 0.3, 0.3 - 1e-12, 0.29, 0.0, -0.0, -2.0, 60.0, 7, 1e-12, -1e9, 1e18]
    values += program.groups[0].cuts  # exactly on a cut (threshold ∓ eps)
    for x in values:
        row = {"uscc": "f", "year": 2025, "rd_expense": x}
        fast = program.run(row, full=False)
        full = program.run(row, full=True)
        for c, f, g in zip(criteria, fast, full, strict=True):
            assert f["status"] == g["status"] == evaluate_row(c, row)[0], (op, x, c.id)
            assert f["reasons"] == g["reasons"], (op, x)


def test_fast_path_equals_full_path_on_generated_firms() -> None:
    """The one-firm output (`full=False`: statuses and leaf texts by position, outcomes
    remembered per plan) is the full path's status, score and reasons, in both languages,
    with and without texts, on the official criteria and their threshold variants."""
    from bench.bench_rules import variants
    from innopoints.demo.generator import generate_zone

    panel = generate_zone(enterprises=120, years=3, seed=5).wide_panel()
    criteria = official_criteria() + variants(60)[len(official_criteria()) :]
    compilers = _compile_all(criteria)
    rows = prepare(panel, needs_of(compilers)).collect().to_dicts()
    checked = 0
    for lang in ("zh", "en"):
        full = evaluate_rows(rows, compilers, lang)
        fast = evaluate_rows(rows, compilers, lang, full=False)
        bare = evaluate_rows(rows, compilers, lang, full=False, texts=False)
        for want_row, fast_row, bare_row in zip(full, fast, bare, strict=True):
            for want, got, no_text in zip(want_row, fast_row, bare_row, strict=True):
                for f in ("status", "score", "score_min", "score_max"):
                    assert got[f] == want[f] == no_text[f]
                assert got["reasons"] == want["reasons"] and no_text["reasons"] == ""
                checked += 1
    assert checked > 10_000
