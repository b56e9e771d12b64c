"""Every YAML test case of every shipped criterion (specs/criteria/*.tests.yaml)."""

from __future__ import annotations

import pytest

from innopoints.engine.rules import OFFICIAL, load_criterion, shipped_criteria
from innopoints.engine.rules.testcases import run_file
from innopoints.engine.rules.testcases import test_files as criteria_test_files

FILES = criteria_test_files()


def test_every_official_criterion_has_at_least_ten_cases() -> None:
    import yaml

    names = {p.name.removesuffix(".tests.yaml"): p for p in FILES}
    for name in OFFICIAL:
        assert name in names, f"{name} has no test file"
        doc = yaml.safe_load(names[name].read_text(encoding="utf-8"))
        assert len(doc["cases"]) >= 10, name


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_yaml_cases(path) -> None:
    failures = [
        f"{o.name}: {'; '.join(o.failures)}\n  reasons: {o.row['reasons']}"
        for o in run_file(path)
        if o.failures
    ]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("name", shipped_criteria())
def test_criteria_carry_source_and_marked_params(name: str) -> None:
    c = load_criterion(name)
    assert c.source.get("reference") and c.source.get("domain")
    for pname, meta in c.param_meta.items():
        assert meta.get("origin") in ("official", "zone_default", "verify"), pname
