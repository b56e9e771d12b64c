"""Builders shared by the scoring engine tests (a uniquely named module, not conftest)."""

from __future__ import annotations

from typing import Any

import polars as pl

from innopoints.engine.scoring import load_model


def model_doc(
    indicators: list[dict[str, Any]],
    *,
    nodes: list[dict[str, Any]] | None = None,
    fields: tuple[str, ...] = ("x", "y", "z"),
    **extra: Any,
) -> dict[str, Any]:
    """A minimal valid model document over custom fields x, y, z with one stage."""
    doc: dict[str, Any] = {
        "id": "test",
        "version": "1",
        "name": {"zh": "测试", "en": "Test"},
        "effective_from": "2024-01-01",
        "reference": "tests",
        "scale": 100,
        "stages": [{"code": "all", "zh": "全部", "en": "All"}],
        "custom_fields": [{"code": f, "name": {"zh": f, "en": f}} for f in fields]
        + [{"code": "grp", "name": {"zh": "组", "en": "group"}, "kind": "text"}],
        "ranking": {"overall": []},
        "bands": {"group": "overall"},
        "nodes": nodes or [{"id": "total", "name": {"zh": "总", "en": "Total"}}],
        "indicators": indicators,
    }
    doc.update(extra)
    return doc


def indicator(ident: str = "x", method: dict | None = None, **extra: Any) -> dict[str, Any]:
    """An indicator on field `ident` under the root node."""
    item = {
        "id": ident,
        "parent": "total",
        "name": {"zh": ident, "en": ident},
        "field": ident,
        "method": method or {"kind": "minmax"},
    }
    item.update(extra)
    return item


def single(method: dict, **extra: Any):
    """A validated one-indicator model on field x."""
    return load_model(model_doc([indicator("x", method, **extra)]))


def frame_of(**columns: list) -> pl.DataFrame:
    """A frame with uscc keys f00, f01, ... and the given columns."""
    n = len(next(iter(columns.values())))
    return pl.DataFrame({"uscc": [f"f{k:02d}" for k in range(n)], **columns})
