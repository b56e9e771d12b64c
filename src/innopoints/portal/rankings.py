"""Read side of rankings: filters and sorts shared by the live ranking of a run (its
stored firm scores) and a published, frozen ranking (its placements), and their export.

Both querysets come from the access modules (`scoring.access`, `portal.access`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db.models import F, Q, QuerySet
from django.http import HttpResponse, QueryDict
from django.utils.translation import gettext as _

from innopoints.enterprises.exporting import export_table_response

SCOPES = ("zone", "stage", "industry")


@dataclass
class RankingFilters:
    """The filters and sort of a ranking page or API call."""

    scope: str = "zone"
    stage: str = ""
    section: str = ""
    band: str = ""
    q: str = ""
    sort: str = "rank"

    @classmethod
    def from_query(cls, params: QueryDict | dict[str, str]) -> RankingFilters:
        """Filters from request parameters (unknown values fall back to the defaults)."""
        scope = params.get("scope", "zone")
        sort = params.get("sort", "rank")
        return cls(
            scope=scope if scope in SCOPES else "zone",
            stage=(params.get("stage") or "")[:32],
            section=(params.get("section") or "")[:1].upper(),
            band=(params.get("band") or "")[:32],
            q=(params.get("q") or "").strip()[:100],
            sort=sort if sort in ("rank", "-rank", "-total", "total", "name") else "rank",
        )

    def as_dict(self) -> dict[str, str]:
        """The filters for the template."""
        return {
            "scope": self.scope,
            "stage": self.stage,
            "section": self.section,
            "band": self.band,
            "q": self.q,
            "sort": self.sort,
        }


def _order(filters: RankingFilters, uscc: str, name: str) -> list[Any]:
    rank = {"zone": "rank_zone", "stage": "rank_stage", "industry": "rank_industry"}[filters.scope]
    group = {"zone": [], "stage": ["stage"], "industry": ["industry_section"]}[filters.scope]
    if filters.sort == "-rank":
        return [*group, F(rank).desc(nulls_last=True), uscc]
    if filters.sort == "-total":
        return [F("total").desc(nulls_last=True), uscc]
    if filters.sort == "total":
        return [F("total").asc(nulls_last=True), uscc]
    if filters.sort == "name":
        return [name, uscc]
    return [*group, F(rank).asc(nulls_last=True), uscc]


def filter_rows(
    rows: QuerySet, filters: RankingFilters, *, uscc: str = "uscc", name: str = "name"
) -> QuerySet:
    """Apply stage, section, band and name/USCC search, and sort by the scope's rank.

    `uscc` and `name` name the fields holding them (`enterprise__uscc` for firm scores).
    """
    if filters.stage:
        rows = rows.filter(stage=filters.stage)
    if filters.section:
        rows = rows.filter(industry_section=filters.section)
    if filters.band == "none":
        rows = rows.filter(band="")
    elif filters.band:
        rows = rows.filter(band=filters.band)
    if filters.q:
        rows = rows.filter(
            Q(**{f"{name}__icontains": filters.q}) | Q(**{f"{uscc}__startswith": filters.q.upper()})
        )
    return rows.order_by(*_order(filters, uscc, name))


def export_rows(
    rows: QuerySet,
    fmt: str,
    file_name: str,
    lang: str,
    stage_name,
    band_name,
    *,
    uscc: str = "uscc",
    name: str = "name",
) -> HttpResponse:
    """A ranking as .xlsx or .csv with headers in the page's language."""
    columns = [
        ("rank_zone", _("Rank"), pl.Int64),
        (uscc, _("USCC"), pl.String),
        (name, _("Enterprise"), pl.String),
        ("stage", _("Stage"), pl.String),
        ("industry_section", _("Industry section"), pl.String),
        ("total", _("Total points"), pl.Float64),
        ("band", _("Band"), pl.String),
        ("rank_stage", _("Rank in stage"), pl.Int64),
        ("n_stage", _("Firms in stage"), pl.Int64),
        ("rank_industry", _("Rank in industry"), pl.Int64),
        ("n_industry", _("Firms in industry"), pl.Int64),
        ("pct_zone", _("Percentile in zone"), pl.Float64),
    ]
    frame = pl.DataFrame(
        list(rows.values_list(*[c for c, _label, _t in columns])),
        schema={c: t for c, _label, t in columns},
        orient="row",
    )
    frame = frame.with_columns(
        pl.col("stage").map_elements(stage_name, return_dtype=pl.String),
        pl.col("band").map_elements(band_name, return_dtype=pl.String),
    )
    frame = frame.rename({c: label for c, label, _t in columns})
    return export_table_response(frame, file_name, fmt, lang)
