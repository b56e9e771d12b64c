"""Sensitivity: Monte-Carlo rank intervals and the drop-one-indicator effect."""

from __future__ import annotations

import polars as pl
from scoring_helpers import frame_of, indicator, model_doc

from innopoints.engine.scoring import drop_one, load_model, score, sensitivity


def test_no_perturbation_gives_the_nominal_rank(cross_section, national):
    result = sensitivity(
        cross_section,
        national,
        runs=6,
        weight_share=0.0,
        methods=("model",),
        missing_policies=("model",),
    )
    ranks = result.ranks
    assert ranks.height == cross_section.height
    assert (ranks.get_column("rank_p05") == ranks.get_column("rank").cast(pl.Float64)).all()
    assert (ranks.get_column("rank_p95") == ranks.get_column("rank").cast(pl.Float64)).all()
    assert ranks.get_column("stable").all()


def test_perturbation_widens_intervals_and_is_reproducible(cross_section, national):
    first = sensitivity(cross_section, national, runs=30, weight_share=0.5, seed=1)
    again = sensitivity(cross_section, national, runs=30, weight_share=0.5, seed=1)
    assert first.ranks.equals(again.ranks)
    ranks = first.ranks
    assert (ranks.get_column("rank_p05") <= ranks.get_column("rank_p95")).all()
    assert ranks.get_column("rank_width").max() > 0
    assert len(first.variants) == 9
    nominal = score(cross_section, national).scores.get_column("rank_stage")
    assert ranks.get_column("rank").equals(nominal.alias("rank"))


def test_dominant_firm_is_stable():
    doc = model_doc(
        [indicator("x", {"kind": "percentile"}), indicator("y", {"kind": "percentile"})]
    )
    model = load_model(doc)
    frame = frame_of(x=[float(k) for k in range(20)], y=[float(k) for k in range(20)])
    ranks = sensitivity(frame, model, runs=20, weight_share=0.9).ranks.sort("rank")
    top = ranks.row(0, named=True)
    assert top["rank"] == 1 and top["rank_p95"] == 1.0 and top["stable"]


def test_drop_one_ranks_indicators_by_effect():
    doc = model_doc(
        [
            indicator("x", {"kind": "reference", "reference": 10}, weight=5),
            indicator("y", {"kind": "reference", "reference": 10}, weight=1),
            indicator("z", {"kind": "reference", "reference": 10}, weight=1),
        ]
    )
    model = load_model(doc)
    frame = frame_of(
        x=[float(k) for k in range(10)],
        y=[float(9 - k) for k in range(10)],
        z=[5.0] * 10,
    )
    effect = drop_one(frame, model)
    assert effect.get_column("indicator").to_list()[0] == "x"
    z = effect.filter(pl.col("indicator") == "z").row(0, named=True)
    assert z["mean_abs_rank_change"] == 0.0 and z["share_of_firms_moved"] == 0.0
