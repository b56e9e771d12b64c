"""Shared helpers of the scoring tests: a small model document and a scored zone."""

from __future__ import annotations

TINY_MODEL = """\
id: tiny
version: "1"
name: {zh: 测试小模型, en: Tiny test model}
effective_from: 2024-01-01
reference: "tests"
scale: 100
nodes:
  - {id: total, name: {zh: 总分, en: Total}}
  - {id: tech, parent: total, name: {zh: 技术, en: Technology}, weight: 60}
  - {id: ops, parent: total, name: {zh: 经营, en: Operations}, weight: 40}
indicators:
  - id: rd
    parent: tech
    name: {zh: 研发强度, en: R&D intensity}
    field: rd_intensity
    method: {kind: reference, reference: 0.1}
  - id: patents
    parent: tech
    name: {zh: 发明专利, en: Invention patents}
    field: invention_patents
    method: {kind: percentile}
  - id: revenue
    parent: ops
    name: {zh: 营业收入, en: Revenue}
    field: revenue
    method: {kind: percentile}
  - id: staff
    parent: ops
    name: {zh: 科技人员, en: Tech staff}
    field: tech_staff
    missing: impute_median
    method: {kind: minmax}
"""

TINY_MODEL_V2 = (
    TINY_MODEL.replace('version: "1"', 'version: "2"')
    .replace("weight: 60", "weight: 70")
    .replace("weight: 40", "weight: 30")
)

BAD_MODEL = """\
id: broken
version: "1"
name: {zh: 坏模型, en: Broken}
effective_from: 2024-01-01
reference: "tests"
nodes:
  - {id: total, name: {zh: 总分, en: Total}}
  - {id: tech, parent: total, name: {zh: 技术, en: Tech}, weight: {startup: 1, growth: 2}}
indicators:
  - id: rd
    parent: tech
    name: {zh: 研发, en: R&D}
    field: no_such_field
    method: {kind: percentile}
  - id: talent
    parent: tech
    name: {zh: 人才, en: Talent}
    field: high_level_talent
    method:
      kind: segments
      segments:
        - {from: null, to: 1, points: 0}
        - {from: 2, to: null, points: 10}
"""


def scored_zone(zone, actor, year: int = 2024, text: str = TINY_MODEL):
    """Upload `text` into `zone`, activate it for `year` and run it; returns the run."""
    from innopoints.scoring.actions import (
        do_activate_model_version,
        do_start_scoring_run,
        do_upload_model_version,
    )

    version, _created = do_upload_model_version(actor, zone, text)
    do_activate_model_version(actor, zone, year, version)
    return do_start_scoring_run(actor, zone, year)
