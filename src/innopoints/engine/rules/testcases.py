"""OpenFisca-style YAML test cases for criteria (`<name>.tests.yaml` beside the criterion).

```yaml
criterion: tech_sme
year: 2024
defaults:            # a baseline firm-year; every case starts from it
  input: {revenue: 1000, rd_expense: 60, ...}
  history: {1: {revenue: 900}}          # earlier years by lag (1 = the year before)
cases:
  - name: R&D share exactly 6% gives 50 points
    input: {rd_expense: 60}             # overrides (null removes a value)
    history: {1: {...}}
    params: {max_staff: 400}            # optional parameter overrides
    expect:
      status: eligible
      score: 100                        # or score_min / score_max
      reasons: ["研发费用占营业收入比例=6%"]   # substrings that must appear
      reasons_en: [...]
      missing: [rd_expense]             # codes that must be listed as missing
      near_miss: ["科技人员数 9 → 10"]    # substrings of the near-miss text
```

All cases of a file are evaluated together in one panel (one firm per case).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from innopoints.engine.rules.criteria import CRITERIA_DIR, load_criterion
from innopoints.engine.rules.evaluate import evaluate
from innopoints.standard.catalogue import STANDARD_FIELDS


@dataclass
class CaseOutcome:
    """The outcome of one test case: failures is empty when it passed."""

    name: str
    failures: list[str]
    row: dict[str, Any]


def test_files() -> list[Path]:
    """Every shipped `<criterion>.tests.yaml`."""
    return sorted(CRITERIA_DIR.glob("*.tests.yaml"))


def _dtype(code: str) -> pl.DataType:
    if code.startswith(("has_", "neg_")):
        return pl.Boolean()
    f = STANDARD_FIELDS.get(code)
    return f.polars_dtype if f is not None else pl.Float64()


def _rows(doc: dict[str, Any], case: dict[str, Any], uscc: str, year: int) -> list[dict]:
    defaults = doc.get("defaults") or {}
    base_in = {**(defaults.get("input") or {}), **(case.get("input") or {})}
    rows = [{**base_in, "uscc": uscc, "year": year}]
    lags = {int(k) for k in (defaults.get("history") or {})} | {
        int(k) for k in (case.get("history") or {})
    }
    enterprise = {k: base_in.get(k) for k in ("registered_on", "industry_code", "niche_years")}
    for k in sorted(lags):
        old = {
            **(defaults.get("history") or {}).get(k, {}),
            **(case.get("history") or {}).get(k, {}),
        }
        if old.get("absent"):
            continue
        old.pop("absent", None)
        rows.append({**enterprise, **old, "uscc": uscc, "year": year - k})
    return rows


def build_panel(doc: dict[str, Any]) -> pl.DataFrame:
    """The wide panel of all cases of a test document (uscc = case number)."""
    year = int(doc.get("year", 2024))
    rows: list[dict[str, Any]] = []
    for i, case in enumerate(doc["cases"]):
        rows += _rows(doc, case, f"CASE{i:04d}", year)
    codes = sorted({k for r in rows for k in r})
    schema = {c: (pl.String() if c == "uscc" else _dtype(c)) for c in codes}
    for r in rows:
        for c in codes:
            v = r.get(c)
            if isinstance(v, str) and schema[c] == pl.Date():
                r[c] = dt.date.fromisoformat(v)
            r.setdefault(c, None)
    return pl.DataFrame(rows, schema=schema)


def run_file(path: Path) -> list[CaseOutcome]:
    """Run every case of a test file; returns one outcome per case."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    year = int(doc.get("year", 2024))
    panel = build_panel(doc)
    # cases with parameter overrides run against their own criterion
    groups: dict[str, list[int]] = {}
    for i, case in enumerate(doc["cases"]):
        key = yaml.safe_dump(case.get("params") or {}, sort_keys=True)
        groups.setdefault(key, []).append(i)
    rows: dict[int, dict[str, Any]] = {}
    for key, idx in groups.items():
        params = yaml.safe_load(key) or None
        criterion = load_criterion(doc["criterion"], params)
        sub = panel.filter(pl.col("uscc").is_in([f"CASE{i:04d}" for i in idx]))
        zh = evaluate(sub, criterion, year=year, near_miss=True)
        en = evaluate(sub, criterion, year=year, lang="en", near_miss=True)
        for r_zh, r_en in zip(zh.iter_rows(named=True), en.iter_rows(named=True), strict=True):
            i = int(r_zh["uscc"][4:])
            rows[i] = {
                **r_zh,
                "reasons_en": r_en["reasons"],
                "near_miss_en": r_en["near_miss"],
            }
    outcomes = []
    for i, case in enumerate(doc["cases"]):
        row = rows[i]
        failures = _check(case.get("expect") or {}, row)
        outcomes.append(CaseOutcome(case.get("name", f"case {i}"), failures, row))
    return outcomes


def _check(expect: dict[str, Any], row: dict[str, Any]) -> list[str]:
    failures = []
    for key in ("status",):
        if key in expect and row[key] != expect[key]:
            failures.append(f"{key}: expected {expect[key]!r}, got {row[key]!r}")
    for key in ("score", "score_min", "score_max"):
        if key in expect:
            want, got = expect[key], row[key]
            if (want is None) != (got is None) or (
                want is not None and abs(float(want) - float(got)) > 1e-6
            ):
                failures.append(f"{key}: expected {want!r}, got {got!r}")
    for key, column in (
        ("reasons", "reasons"),
        ("reasons_en", "reasons_en"),
        ("near_miss", "near_miss"),
        ("near_miss_en", "near_miss_en"),
    ):
        for text in expect.get(key, []) or []:
            if text not in (row[column] or ""):
                failures.append(f"{key}: {text!r} not in {row[column]!r}")
    for code in expect.get("missing", []) or []:
        if code not in (row["missing"] or "").split(","):
            failures.append(f"missing: {code!r} not in {row['missing']!r}")
    return failures
