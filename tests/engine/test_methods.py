"""Each scoring method, missing policy, aggregation, bonus/negative rule and band."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from scoring_helpers import frame_of, indicator, model_doc, single

from innopoints.engine.scoring import load_model, score, stages


def normalised(model, frame: pl.DataFrame, ident: str = "x") -> list[float | None]:
    return stages(frame, model)["normalised"].get_column(ident).to_list()


def totals(model, frame: pl.DataFrame) -> list[float | None]:
    return score(frame, model).scores.get_column("total").to_list()


def test_reference_ratio_caps_at_full_points():
    model = single({"kind": "reference", "reference": 10})
    frame = frame_of(x=[0.0, 5.0, 10.0, 25.0])
    assert totals(model, frame) == [0.0, 50.0, 100.0, 100.0]


def test_reference_ratio_negative_direction():
    model = single({"kind": "reference", "reference": 0.4}, direction=-1)
    assert normalised(model, frame_of(x=[0.2, 0.4, 0.8])) == [1.0, 1.0, 0.5]


def test_segment_table_points():
    segments = [
        {"from": None, "to": 1, "points": 0},
        {"from": 1, "to": 3, "points": 4},
        {"from": 3, "to": None, "points": 10},
    ]
    model = single({"kind": "segments", "segments": segments})
    assert normalised(model, frame_of(x=[0.0, 1.0, 2.99, 3.0, 100.0])) == [0.0, 0.4, 0.4, 1.0, 1.0]


def test_percentile_uses_mid_ranks_within_peer_groups():
    model = single({"kind": "percentile", "group": ["grp"]})
    frame = frame_of(x=[1.0, 2.0, 2.0, 3.0, 10.0, 20.0], grp=["a", "a", "a", "a", "b", "b"])
    assert normalised(model, frame) == [0.125, 0.5, 0.5, 0.875, 0.25, 0.75]


def test_rank_method():
    model = single({"kind": "rank"})
    assert normalised(model, frame_of(x=[5.0, 1.0, 3.0, 3.0])) == [1.0, 0.0, 1 / 3, 1 / 3]


def test_minmax_with_direction_and_constant_column():
    model = single({"kind": "minmax"}, direction=-1)
    assert normalised(model, frame_of(x=[1.0, 3.0, 5.0])) == [1.0, 0.5, 0.0]
    assert normalised(single({"kind": "minmax"}), frame_of(x=[2.0, 2.0])) == [0.5, 0.5]


def test_zscore_maps_plus_minus_clip_sd_to_0_and_1():
    model = single({"kind": "zscore", "clip": 1})
    values = [1.0, 2.0, 3.0]  # mean 2, sample sd 1
    assert normalised(model, frame_of(x=values)) == pytest.approx([0.0, 0.5, 1.0])


def test_goalposts():
    model = single({"kind": "goalposts", "worst": 0, "best": 0.5})
    assert normalised(model, frame_of(x=[-0.1, 0.25, 0.9])) == [0.0, 0.5, 1.0]


def test_ordinal_map_on_enum_field():
    doc = model_doc(
        [
            indicator(
                "level",
                {"kind": "ordinal", "map": {"none": 0, "provincial": 0.7, "national": 1}},
                field="rd_institution_level",
            )
        ],
        fields=(),
    )
    model = load_model(doc)
    frame = frame_of(rd_institution_level=["none", "national", "provincial", None])
    assert normalised(model, frame, "level") == [0.0, 1.0, 0.7, 0.0]


def test_denominator_and_log_transform():
    model = single(
        {"kind": "goalposts", "worst": 0, "best": math.log1p(10)},
        denominator="y",
        transform={"log": True},
    )
    result = stages(frame_of(x=[10.0, 50.0, 3.0], y=[1.0, 5.0, 0.0]), model)
    assert result["denominated"].get_column("x").to_list() == [10.0, 10.0, None]
    assert result["imputed"].get_column("x").to_list() == pytest.approx(
        [math.log1p(10), math.log1p(10), None]
    )
    assert result["normalised"].get_column("x").to_list() == pytest.approx([1.0, 1.0, 0.0])


def test_outlier_treatment_winsorises_the_extreme():
    values = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 5.0, 100.0]
    model = single({"kind": "minmax"}, transform={"treat": {"method": "coinr"}})
    result = score(frame_of(x=values), model)
    assert result.treatments["x"].kind == "winsorise"
    assert result.treatments["x"].high == 5.0 and result.treatments["x"].high_count == 1
    treated = stages(frame_of(x=values), model)["treated"].get_column("x").to_list()
    assert treated[-1] == 5.0


def test_missing_policies():
    frame = frame_of(x=[None, 2.0, 4.0, 10.0], y=[1.0, 1.0, 1.0, 0.0], grp=["a", "a", "a", "b"])
    zero = single({"kind": "reference", "reference": 4}, missing="zero")
    assert normalised(zero, frame) == [0.0, 0.5, 1.0, 1.0]
    imputed = single(
        {"kind": "reference", "reference": 4}, missing={"policy": "impute_mean", "group": ["grp"]}
    )
    assert stages(frame, imputed)["imputed"].get_column("x").to_list() == [3.0, 2.0, 4.0, 10.0]
    median = single({"kind": "reference", "reference": 4}, missing={"policy": "impute_median"})
    assert stages(frame, median)["imputed"].get_column("x").to_list()[0] == 4.0


def test_drop_and_reweight_siblings():
    doc = model_doc(
        [
            indicator("x", {"kind": "reference", "reference": 1}, missing="drop", weight=3),
            indicator("y", {"kind": "reference", "reference": 1}, missing="drop", weight=1),
        ]
    )
    model = load_model(doc)
    frame = frame_of(x=[None, 1.0, None], y=[0.5, 0.5, None])
    result = score(frame, model).scores
    assert result.get_column("total").to_list()[:2] == [50.0, 87.5]
    assert result.get_column("total").to_list()[2] is None  # nothing to aggregate
    explanation = score(frame, model, explain=True).explanation
    row = explanation.filter((pl.col("uscc") == "f00") & (pl.col("item") == "x")).row(0, named=True)
    assert row["missing"] is True and row["treatment"] == "dropped" and row["points"] == 0.0


def test_min_data_share_makes_a_node_missing():
    nodes = [
        {"id": "total", "name": {"zh": "t", "en": "t"}},
        {
            "id": "a",
            "parent": "total",
            "name": {"zh": "a", "en": "a"},
            "aggregation": {"min_share": 0.6},
        },
        {"id": "b", "parent": "total", "name": {"zh": "b", "en": "b"}},
    ]
    inds = [
        indicator("x", {"kind": "reference", "reference": 1}, parent="a", missing="drop"),
        indicator("y", {"kind": "reference", "reference": 1}, parent="a", missing="drop"),
        indicator("z", {"kind": "reference", "reference": 1}, parent="b"),
    ]
    model = load_model(model_doc(inds, nodes=nodes))
    frame = frame_of(x=[1.0, None], y=[1.0, 1.0], z=[0.0, 0.0])
    aggregated = stages(frame, model)["aggregated"]
    assert aggregated.get_column("a").to_list() == [1.0, None]
    assert totals(model, frame) == [50.0, 0.0]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("arithmetic", 0.5),
        ("geometric", math.sqrt(0.01 * 1.01) - 0.01),
        ("harmonic", 2 / (1 / 0.01 + 1 / 1.01) - 0.01),
        ("power", math.sqrt((0.01**2 + 1.01**2) / 2) - 0.01),
    ],
)
def test_aggregation_methods_handle_zeros(method, expected):
    nodes = [
        {"id": "total", "name": {"zh": "t", "en": "t"}, "aggregation": {"method": method, "p": 2}}
    ]
    inds = [
        indicator("x", {"kind": "reference", "reference": 1}),
        indicator("y", {"kind": "reference", "reference": 1}),
    ]
    model = load_model(model_doc(inds, nodes=nodes))
    total = totals(model, frame_of(x=[0.0], y=[1.0]))[0]
    assert total == pytest.approx(100 * expected)


def test_per_stage_weights_and_points_add_up():
    stages_data = [
        {"code": "small", "zh": "小", "en": "Small", "when": {"<": [{"field": "y"}, 10]}},
        {"code": "big", "zh": "大", "en": "Big"},
    ]
    inds = [
        indicator("x", {"kind": "reference", "reference": 1}, weight={"small": 3, "big": 1}),
        indicator("z", {"kind": "reference", "reference": 1}, weight={"small": 1, "big": 3}),
    ]
    model = load_model(model_doc(inds, stages=stages_data))
    frame = frame_of(x=[1.0, 1.0], z=[0.0, 0.0], y=[1.0, 100.0])
    result = score(frame, model).scores
    assert result.get_column("stage").to_list() == ["small", "big"]
    assert result.get_column("total").to_list() == [75.0, 25.0]
    assert result.get_column("pts_x").to_list() == [75.0, 25.0]


def test_bonus_and_negative_items():
    inds = [indicator("x", {"kind": "reference", "reference": 1})]
    bonus = [
        {"id": "ht", "name": {"zh": "高企", "en": "HT"}, "field": "has_high_tech", "points": 10},
        {
            "id": "pct",
            "name": {"zh": "PCT", "en": "PCT"},
            "field": "y",
            "points": 3,
            "per_unit": True,
            "max": 7,
        },
    ]
    negative = [
        {
            "id": "ab",
            "name": {"zh": "异常", "en": "ab"},
            "field": "neg_abnormal_operation",
            "action": "deduct",
            "points": 20,
        },
        {
            "id": "mi",
            "name": {"zh": "事故", "en": "mi"},
            "field": "neg_major_incident",
            "action": "cap",
            "cap": 30,
        },
        {
            "id": "sd",
            "name": {"zh": "失信", "en": "sd"},
            "field": "neg_serious_dishonesty",
            "action": "zero",
        },
    ]
    model = load_model(model_doc(inds, bonus=bonus, negative=negative))
    frame = frame_of(
        x=[0.5, 0.5, 0.95, 0.9, 0.9],
        y=[0.0, 5.0, 0.0, 0.0, 0.0],
        has_high_tech=[False, True, True, False, False],
        neg_abnormal_operation=[False, False, False, True, False],
        neg_major_incident=[False, False, False, False, True],
        neg_serious_dishonesty=[False, False, False, False, False],
    )
    result = score(frame, model).scores
    assert result.get_column("total").to_list() == pytest.approx([50.0, 67.0, 100.0, 70.0, 30.0])
    assert result.get_column("bonus_points").to_list() == [0.0, 17.0, 10.0, 0.0, 0.0]
    zeroed = frame.with_columns(neg_serious_dishonesty=pl.lit(True))
    assert set(totals(model, zeroed)) == {0.0}


def test_bands_by_rank_share_within_group():
    model = single({"kind": "reference", "reference": 100})
    frame = frame_of(x=[float(v) for v in range(40)])
    result = score(frame, model).scores.sort("rank_overall")
    bands = result.get_column("band").to_list()
    assert bands[:2] == ["lead", "lead"]  # top 5 % of 40 firms
    assert bands[2:4] == ["chase", "chase"]
    assert bands[4:8] == ["rise"] * 4
    assert set(bands[8:]) == {None}
    assert result.get_column("pct_overall").to_list()[0] == pytest.approx(100 * 39.5 / 40)


def test_open_scale_lets_bonus_exceed_100():
    inds = [indicator("x", {"kind": "reference", "reference": 1})]
    bonus = [
        {"id": "ht", "name": {"zh": "高企", "en": "HT"}, "field": "has_high_tech", "points": 10}
    ]
    model = load_model(model_doc(inds, bonus=bonus, scale="open"))
    assert totals(model, frame_of(x=[1.0], has_high_tech=[True])) == [110.0]
    bounded = load_model(model_doc(inds, bonus=bonus))
    assert totals(bounded, frame_of(x=[1.0], has_high_tech=[True])) == [100.0]


def test_scale_1000():
    model = load_model(
        model_doc([indicator("x", {"kind": "reference", "reference": 2})], scale=1000)
    )
    assert totals(model, frame_of(x=[1.0])) == [500.0]
    assert np.isclose(totals(model, frame_of(x=[3.0]))[0], 1000.0)
