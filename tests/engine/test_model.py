"""Model documents: loading, hashing, validation with every problem listed, diff."""

from __future__ import annotations

import copy

import pytest
from scoring_helpers import indicator, model_doc

from innopoints.engine.scoring import (
    ModelValidationError,
    diff_models,
    load_model,
    model_hash,
    shipped_models,
    validate_document,
)
from innopoints.engine.scoring.model import read_document


def test_shipped_models_load_with_their_structure():
    assert {"national-18", "extended-33", "coinr-asem"} <= set(shipped_models())
    national = load_model("national-18")
    assert len(national.doc.indicators) == 18
    assert [n.id for n in national.doc.nodes if n.parent == "total"] == ["tech", "growth", "aux"]
    assert national.stage_codes == ("startup", "mature", "growth")
    for stage in national.stage_codes:  # weights are points: 100 per stage
        assert sum(national.weight(i, stage) for i in national.doc.indicators) == 100
    extended = load_model("extended-33")
    assert len(extended.doc.indicators) == 33
    assert extended.doc.scale == 1000
    assert extended.doc.bonus and extended.doc.negative
    assert {n.name.zh for n in extended.doc.nodes if n.parent} == {
        "创新指标",
        "成长指标",
        "辅助指标",
    }


def test_hash_is_canonical_and_changes_with_content():
    raw = read_document("national-18")
    reordered = dict(reversed(list(raw.items())))
    assert model_hash(raw) == model_hash(reordered) == load_model("national-18").hash
    changed = copy.deepcopy(raw)
    changed["indicators"][0]["weight"]["startup"] = 11
    assert model_hash(changed) != model_hash(raw)


def test_content_hash_field_is_checked():
    raw = model_doc([indicator()])
    raw["content_hash"] = model_hash(raw)
    assert load_model(raw).hash == raw["content_hash"]
    raw["content_hash"] = "sha256:0"
    problems = validate_document(raw)
    assert [p.path for p in problems] == ["content_hash"]


def test_every_problem_is_listed_with_its_path():
    raw = model_doc(
        [
            indicator("x", field="no_such_field"),
            indicator(
                "y",
                method={
                    "kind": "segments",
                    "segments": [
                        {"from": None, "to": 1, "points": 0},
                        {"from": 2, "to": 5, "points": 5},  # gap [1, 2)
                        {"from": 4, "to": None, "points": 10},  # overlap [4, 5)
                    ],
                },
            ),
            indicator("z", weight={"all": 1, "bogus": 2}),
            indicator("x2", parent="nowhere", field="x"),
        ],
        nodes=[
            {"id": "total", "name": {"zh": "总", "en": "T"}},
            {"id": "a", "parent": "b", "name": {"zh": "a", "en": "a"}},
            {"id": "b", "parent": "a", "name": {"zh": "b", "en": "b"}},
        ],
    )
    raw["indicators"][0]["direction"] = 2
    with pytest.raises(ModelValidationError) as caught:
        load_model(raw)
    problems = {(p.path, p.message.split(":")[0]) for p in caught.value.problems}
    paths = [p.path for p in caught.value.problems]
    assert "indicators.0.direction" in paths  # structural (pydantic)
    assert ("indicators.0.field", "unknown field 'no_such_field'") in problems
    assert any("gap between segment" in p.message for p in caught.value.problems)
    assert any("overlap" in p.message for p in caught.value.problems)
    assert any(
        p.path == "indicators.2.weight" and "unknown stages ['bogus']" in p.message
        for p in caught.value.problems
    )
    assert ("indicators.3.parent", "unknown node 'nowhere'") in problems
    assert any(p.message.startswith("cycle:") for p in caught.value.problems)
    assert len(caught.value.problems) >= 7
    assert "indicators.1.method.segments" in str(caught.value)


def test_weight_shape_and_stage_weights_must_match_the_scheme():
    raw = model_doc([indicator(weight={"startup": 1, "growth": 2})])
    problems = validate_document(raw)
    assert any("missing stages ['all']" in p.message for p in problems)
    raw = model_doc([indicator(weight=-1)])
    assert "indicators.0.weight" in [p.path for p in validate_document(raw)]


def test_other_semantic_checks():
    raw = model_doc(
        [
            indicator("x", method={"kind": "reference"}),
            indicator("y", method={"kind": "goalposts", "worst": 1, "best": 1}),
            indicator("x", field="z"),  # duplicate id
        ],
        negative=[
            {"id": "n", "name": {"zh": "n", "en": "n"}, "field": "neg_unknown", "action": "deduct"}
        ],
        bands={"group": "nope"},
    )
    messages = [str(p) for p in validate_document(raw)]
    assert any("indicators.0.method.reference" in m for m in messages)
    assert any("goalposts need distinct" in m for m in messages)
    assert any("duplicate id 'x'" in m for m in messages)
    assert any(m.startswith("negative.0.field: unknown field 'neg_unknown'") for m in messages)
    assert any(m.startswith("negative.0.points") for m in messages)
    assert any(m.startswith("bands.group") for m in messages)


def test_ordinal_map_keys_must_be_enum_values():
    raw = read_document("national-18")
    raw = copy.deepcopy(raw)
    award = next(i for i in raw["indicators"] if i["id"] == "award_level")
    award["method"]["map"]["imperial"] = 1
    problems = validate_document(raw)
    assert any(p.path.endswith("method.map.imperial") for p in problems)


def test_diff_lists_changes_by_id():
    old = load_model("national-18")
    raw = copy.deepcopy(read_document("national-18"))
    raw["version"] = "2025.1"
    raw["indicators"][0]["weight"]["startup"] = 12
    raw["indicators"] = [i for i in raw["indicators"] if i["id"] != "gov_projects"]
    new = load_model(raw)
    changes = {path: (a, b) for path, a, b in diff_models(old, new)}
    assert changes["version"] == ("2024.1-default", "2025.1")
    assert changes["indicators.rd_intensity.weight.startup"] == (10, 12)
    assert changes["indicators.gov_projects"][1] is None
    assert diff_models(old, old) == []
