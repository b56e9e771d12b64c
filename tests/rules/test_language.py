"""The rule language: operators, Kleene logic, validation paths, limits, near-miss, CLI."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from innopoints.engine.rules import evaluate, load_rule, sentence, validate_rule
from innopoints.engine.rules.language import MAX_DEPTH, MAX_NODES

PANEL = pl.DataFrame(
    {
        "uscc": ["A", "B", "C", "D"],
        "year": [2024] * 4,
        "revenue": [2500.0, 1000.0, None, 1000.0],
        "rd_expense": [80.0, 60.0, 10.0, 40.0],
        "staff_total": [100, 600, 100, 100],
        "tech_staff": [9, 30, 10, 10],
        "industry_code": ["C3971", "I6513", None, "M7320"],
        "rd_institution_level": ["none", "provincial", "national", None],
        "has_high_tech": [False, True, False, False],
        "neg_serious_dishonesty": [False, False, True, False],
    }
)


def status(tree, panel=PANEL, **kw) -> list[str]:
    out = evaluate(panel, load_rule(tree, **kw), run_derive=True)
    return out.sort("uscc")["status"].to_list()


E, I, U = "eligible", "ineligible", "unknown"  # noqa: E741


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({">=": [{"field": "revenue"}, 1000]}, [E, E, U, E]),
        ({">": [{"field": "revenue"}, 1000]}, [E, I, U, I]),
        ({"<": [{"field": "revenue"}, 1000]}, [I, I, U, I]),
        ({"<=": [{"field": "revenue"}, 1000]}, [I, E, U, E]),
        ({"==": [{"field": "revenue"}, 1000]}, [I, E, U, E]),
        ({"!=": [{"field": "revenue"}, 1000]}, [E, I, U, I]),
        ({"between": [{"field": "staff_total"}, 100, 600]}, [E, E, E, E]),
        ({"between": [{"field": "staff_total"}, 101, 599]}, [I, I, I, I]),
        ({"in": [{"field": "industry_code"}, ["C3971", "M7320"]]}, [E, I, U, E]),
        ({"starts_with": [{"field": "industry_code"}, ["I65", "M"]]}, [I, E, U, E]),
        ({">=": [{"field": "rd_institution_level"}, "provincial"]}, [I, E, E, U]),
        ({"has": "high_tech"}, [I, E, I, I]),
        ({"negative": ["serious_dishonesty"]}, [I, I, E, I]),
        ({">=": [{"/": [{"field": "rd_expense"}, {"field": "revenue"}]}, 0.04]}, [I, E, U, E]),
        ({"==": [{"+": [{"field": "rd_expense"}, 20]}, 100]}, [E, I, I, I]),
        ({"==": [{"-": [{"field": "staff_total"}, {"field": "tech_staff"}]}, 91]}, [E, I, I, I]),
        ({">=": [{"*": [{"field": "rd_expense"}, 2]}, 160]}, [E, I, I, I]),
        ({"==": [{"abs": {"-": [{"field": "tech_staff"}, 30]}}, 21]}, [E, I, I, I]),
        ({"==": [{"min": [{"field": "tech_staff"}, 20]}, 20]}, [I, E, I, I]),
        ({"==": [{"max": [{"field": "tech_staff"}, 20]}, 20]}, [E, I, E, E]),
        ({"/": [1, 0]} and {"==": [{"/": [{"field": "rd_expense"}, 0]}, 1]}, [U, U, U, U]),
        (True, [E, E, E, E]),
    ],
)
def test_operators(tree, expected) -> None:
    assert status(tree) == expected


def test_kleene_logic() -> None:
    missing = {">=": [{"field": "revenue"}, 0]}  # unknown for C only
    true, false = {"==": [1, 1]}, {"==": [1, 2]}
    assert status({"any": [missing, true]})[2] == E
    assert status({"all": [missing, false]})[2] == I
    assert status({"all": [missing, true]})[2] == U
    assert status({"any": [missing, false]})[2] == U
    assert status({"not": missing})[2] == U


def test_earlier_years_sums_and_growth() -> None:
    panel = pl.DataFrame(
        {
            "uscc": ["A"] * 3 + ["B"] * 2,
            "year": [2022, 2023, 2024, 2023, 2024],
            "revenue": [100.0, 150.0, 300.0, 100.0, 100.0],
            "rd_expense": [10.0, 10.0, 10.0, 5.0, 5.0],
        }
    )

    def st(tree):
        out = evaluate(panel, load_rule(tree), year=2024, run_derive=True)
        return out.sort("uscc")["status"].to_list()

    assert st({"==": [{"field": "revenue", "year": -1}, 150]}) == [E, I]
    assert st({"==": [{"sum": {"field": "rd_expense", "years": 3}}, 30]}) == [E, U]
    assert st({"==": [{"avg": {"field": "revenue", "years": 2}}, 225]}) == [E, I]
    assert st({">=": [{"growth": {"field": "revenue", "years": 2}}, 0.7]}) == [E, U]


def test_validation_errors_point_at_the_node() -> None:
    problems = validate_rule(
        {"all": [{"has": "high_tech"}, {"==": [1, 1]}, {">=": [{"field": "rd_intensty"}, 0.03]}]}
    )
    assert [str(p) for p in problems] == [
        "rules.all[2].>=[0].field: unknown field 'rd_intensty' (did you mean rd_intensity?)"
    ]
    assert "unknown operator 'alll'" in str(validate_rule({"alll": []})[0])
    assert "did you mean high_tech" in str(validate_rule({"has": "hightech"})[0])
    assert "not a value of rd_institution_level" in str(
        validate_rule({">=": [{"field": "rd_institution_level"}, "provincal"]})[0]
    )
    assert "cannot compare" in str(validate_rule({">=": [{"field": "industry_code"}, 3]})[0])
    assert "unknown sub-rule" in str(validate_rule({"ref": "nope"})[0])


def test_limits_and_no_code_execution() -> None:
    deep = {"==": [1, 1]}
    for _ in range(MAX_DEPTH + 2):
        deep = {"not": deep}
    assert any("too deep" in p.message for p in validate_rule(deep))
    wide = {"any": [{"==": [1, 1]}] * 400 + [{"any": [{"==": [1, 1]}] * 400}]}
    big = {"all": [wide, wide, wide]}
    assert any("too large" in p.message for p in validate_rule(big)) or MAX_NODES > 2500
    for hostile in (
        {"field": "__import__('os').system('true')"},
        {"==": ["__import__('os')", {"field": "revenue"}]},
        {"regex": [{"field": "name"}, ".*"]},
        {"sql": "select 1"},
    ):
        assert validate_rule(hostile)


def test_sub_rule_cycle_is_an_error() -> None:
    from innopoints.engine.rules import RuleError, load_criterion

    with pytest.raises(RuleError, match="refers to itself"):
        load_criterion(
            {
                "id": "x",
                "name": {"zh": "x", "en": "x"},
                "rules": {"ref": "a"},
                "definitions": {"a": {"all": [{"ref": "a"}]}},
            }
        )


def test_sentences_in_both_languages() -> None:
    rule = load_rule({"all": [{">=": [{"field": "rd_intensity"}, 0.06]}, {"has": "high_tech"}]})
    assert (
        sentence(rule.rules)
        == "同时满足：①研发费用占营业收入比例 ≥ 6%；②持有有效的高新技术企业资质"
    )
    assert sentence(rule.rules, "en").startswith("all of: (1) R&D intensity ≥ 6%")


def test_reasons_and_near_miss() -> None:
    rule = load_rule(
        {
            "all": [
                {">=": [{"field": "rd_intensity"}, 0.04]},
                {"<=": [{"field": "staff_total"}, 500]},
                {"any": [{"has": "high_tech"}, {">=": [{"field": "tech_staff_ratio"}, 0.1]}]},
            ]
        }
    )
    out = evaluate(PANEL, rule, near_miss=True).sort("uscc")
    a, b, c, d = out.iter_rows(named=True)
    assert "✗ 研发费用占营业收入比例=3.2%，要求≥4%" in a["reasons"]
    assert "科技人员数 9 → 10（职工总数 100）" in a["near_miss"]
    assert "仍需满足：研发费用占营业收入比例 ≥ 4%" in a["near_miss"] and a["near_miss_blocked"]
    assert "职工总数 600 → 500" in b["near_miss"] and not b["near_miss_blocked"]
    assert c["status"] == U and c["missing"] == "revenue" and c["near_miss"] is None
    assert d["status"] == E
    en = evaluate(PANEL, rule, near_miss=True, lang="en").sort("uscc")
    assert "Technology staff 9 → 10 (of Total staff 100)" in en["near_miss"][0]
    solo = load_rule({">=": [{"field": "rd_intensity"}, 0.04]})
    text = evaluate(PANEL, solo, near_miss=True, lang="en").sort("uscc")["near_miss"][0]
    assert "R&D intensity 3.2% → 4%: R&D expense +20 (10k CNY)" in text


def test_score_columns_from_a_scoring_run() -> None:
    from innopoints.engine.rules import DataError

    rule = load_rule(
        {"all": [{">=": [{"score": "percentile_stage"}, 0.8]}, {"==": [{"score": "band"}, "A"]}]}
    )
    with pytest.raises(DataError):
        evaluate(PANEL, rule)
    scores = pl.DataFrame(
        {
            "uscc": ["A", "B", "C", "D"],
            "year": [2024] * 4,
            "pct_stage": [0.9, 0.5, None, 0.95],
            "band": ["A", "A", "A", "B"],
        }
    )
    out = evaluate(PANEL, rule, scores=scores).sort("uscc")
    assert out["status"].to_list() == [E, I, U, I]


def test_registry_windows_and_date_offsets() -> None:
    import datetime as dt

    panel = PANEL.drop("has_high_tech")
    quals = pl.DataFrame(
        {
            "uscc": ["A", "B"],
            "type": ["high_tech", "high_tech"],
            "valid_from": [dt.date(2022, 1, 1), dt.date(2024, 12, 1)],
            "valid_until": [dt.date(2024, 6, 30), None],
        }
    )
    negs = pl.DataFrame(
        {
            "uscc": ["A"],
            "type": ["major_incident"],
            "occurred_on": [dt.date(2023, 3, 1)],
            "cleared_on": [dt.date(2023, 6, 1)],
        }
    )
    held = load_rule({"has": "high_tech"})
    earlier = load_rule({"has": "high_tech", "offset_days": -200})
    window = load_rule({"negative": ["major_incident"], "within_years": 2})
    kw = {"qualifications": quals, "negatives": negs}
    assert status_of(panel, held, **kw) == [I, E, I, I]
    assert status_of(panel, earlier, **kw) == [E, I, I, I]
    assert status_of(panel, window, **kw) == [E, I, I, I]


def status_of(panel, rule, **kw):
    return evaluate(panel, rule, **kw).sort("uscc")["status"].to_list()


def test_cli_check(tmp_path) -> None:
    from innopoints.cli import app

    path = tmp_path / "panel.csv"
    from innopoints.standard.catalogue import NEGATIVE_TYPES, QUALIFICATION_TYPES

    flags = [f"has_{t}" for t in QUALIFICATION_TYPES] + [f"neg_{t}" for t in NEGATIVE_TYPES]
    PANEL.with_columns(pl.lit(False).alias(c) for c in flags if c not in PANEL.columns).write_csv(
        path
    )
    no_flags = tmp_path / "no_flags.csv"
    PANEL.write_csv(no_flags)
    out = tmp_path / "out.csv"
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["check", "--data", str(path), "--rules", "official", "--out", str(out), "--lang", "en"],
    )
    assert res.exit_code == 0, res.output
    table = pl.read_csv(out)
    assert table.columns == ["uscc", "criterion", "status", "score", "reasons"]
    assert table.height == 4 * 8
    assert set(table["status"]) <= {E, I, U}
    bad = runner.invoke(
        app,
        ["check", "--data", str(tmp_path / "nope.csv"), "--rules", "official", "--out", str(out)],
    )
    assert bad.exit_code != 0 and "not found" in bad.output
    bad = runner.invoke(
        app, ["check", "--data", str(no_flags), "--rules", "official", "--out", str(out)]
    )
    assert bad.exit_code != 0 and "neg_" in bad.output
    rule = tmp_path / "bad.yaml"
    rule.write_text("id: x\nname: {zh: x, en: x}\nrules: {'>=': [{field: rd_intensty}, 1]}\n")
    bad = runner.invoke(
        app, ["check", "--data", str(path), "--rules", str(rule), "--out", str(out)]
    )
    assert bad.exit_code != 0 and "rd_intensity" in bad.output


def test_vectorised_matches_the_per_row_reference() -> None:
    """On generated data, every official criterion agrees with the plain-Python evaluator."""
    from innopoints.demo.generator import generate_zone
    from innopoints.engine.rules import official_criteria, prepare
    from innopoints.engine.rules.evaluate import _compile_all, needs_of
    from innopoints.engine.rules.reference import evaluate_row

    panel = generate_zone(enterprises=400, years=4, seed=3).wide_panel()
    criteria = official_criteria()
    prepared = prepare(panel, needs_of(_compile_all(criteria))).collect()
    last = prepared.filter(pl.col("year") == prepared["year"].max())
    result = evaluate(panel, criteria, year=int(last["year"][0]))
    want = {}
    for row in last.iter_rows(named=True):
        for c in criteria:
            want[(row["uscc"], c.id)] = evaluate_row(c, row)
    mismatches = [
        (r["uscc"], r["criterion"], r["status"], want[(r["uscc"], r["criterion"])])
        for r in result.iter_rows(named=True)
        if (r["status"], r["score_min"], r["score_max"]) != want[(r["uscc"], r["criterion"])]
        and not (
            r["status"] == want[(r["uscc"], r["criterion"])][0]
            and abs((r["score_min"] or 0) - (want[(r["uscc"], r["criterion"])][1] or 0)) < 1e-9
            and abs((r["score_max"] or 0) - (want[(r["uscc"], r["criterion"])][2] or 0)) < 1e-9
        )
    ]
    assert not mismatches, mismatches[:5]
