"""Read-side computations of the zone dashboard, one Polars pass each.

The frames come from the zone's cached wide panel (`enterprises.panel.zone_derived`) and
from a run's stored scores read through `scoring.access`; nothing here writes. Each
panel is a small table (`Table`): the same rows feed the chart, the table under it and
its .xlsx/.csv export, so a chart's numbers are always one click away.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from innopoints.enterprises.panel import zone_derived
from innopoints.scoring import access as scoring_access
from innopoints.scoring.models import ScoringRun
from innopoints.standard.catalogue import (
    ENTERPRISE_FIELDS,
    QUALIFICATION_TYPES,
    YEARLY_FIELDS,
)
from innopoints.standard.codes import SECTION_NAMES_EN, industry_sections
from innopoints.zones.models import Zone


@dataclass
class Table:
    """One dashboard panel's numbers: column labels and rows (first column = category)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: str = "bar"  # bar | hbar | pie | none
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def chart_data(self) -> dict[str, Any]:
        """What the page's chart script draws: categories and one value series."""
        return {
            "type": self.chart,
            "title": self.title,
            "name": self.columns[1] if len(self.columns) > 1 else "",
            "categories": [str(r[0]) for r in self.rows],
            "values": [r[1] for r in self.rows],
        }

    def frame(self) -> pl.DataFrame:
        """The rows as a frame with the column labels as headers (for exports)."""
        return pl.DataFrame(
            [list(r) for r in self.rows], schema=self.columns, orient="row", strict=False
        )


def lang_name(zh: str, en: str, lang: str) -> str:
    """`en` when the page is English, else `zh`."""
    return en if lang == "en" else zh


def year_panel(zone: Zone, year: int) -> pl.DataFrame:
    """The zone's wide panel rows of one year (one row per firm with data that year)."""
    panel = zone_derived(zone)
    if panel.is_empty() or "year" not in panel.columns:
        return panel
    return panel.filter(pl.col("year") == year)


def panel_years(zone: Zone) -> list[int]:
    """The years the zone has data for, newest first."""
    panel = zone_derived(zone)
    if panel.is_empty() or "year" not in panel.columns:
        return []
    return sorted(panel.get_column("year").unique().drop_nulls().to_list(), reverse=True)


def stage_counts(panel: pl.DataFrame, stage_names: dict[str, str]) -> Table:
    """Firms per development stage (scheme order; unknown stage last)."""
    counts = _tally(panel, "stage")
    rows = [[stage_names[c], counts.pop(c, 0)] for c in stage_names]
    rows += [[c or _("Unknown"), n] for c, n in sorted(counts.items())]
    return Table("stages", _("Firms by stage"), [_("Stage"), _("Firms")], rows, chart="pie")


def _tally(panel: pl.DataFrame, column: str) -> dict[str, int]:
    if panel.is_empty() or column not in panel.columns:
        return {}
    grouped = panel.group_by(column).len()
    return {(k or ""): int(n) for k, n in grouped.iter_rows()}


def section_counts(panel: pl.DataFrame, lang: str) -> Table:
    """Firms per industry section (门类 of GB/T 4754), largest first."""
    if panel.is_empty() or "industry_code" not in panel.columns:
        counts: dict[str, int] = {}
    else:
        counts = _tally(
            panel.with_columns(pl.col("industry_code").str.slice(0, 1).alias("section")), "section"
        )
    names = industry_sections() if lang != "en" else SECTION_NAMES_EN
    rows = [
        [f"{code} {names.get(code, '')}".strip() if code else _("Unknown"), n]
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return Table(
        "sections",
        _("Firms by industry section"),
        [_("Industry section"), _("Firms")],
        rows,
        chart="hbar",
    )


def qualification_counts(panel: pl.DataFrame, lang: str) -> Table:
    """Firms holding each qualification on 31 December of the year (`has_<type>`)."""
    rows = []
    for code, (zh, en) in QUALIFICATION_TYPES.items():
        column = f"has_{code}"
        n = int(panel.get_column(column).fill_null(False).sum()) if column in panel.columns else 0
        rows.append([lang_name(zh, en, lang), n])
    return Table(
        "qualifications",
        _("Qualification holdings"),
        [_("Qualification"), _("Firms")],
        rows,
        chart="hbar",
    )


def pool_counts(user, zone: Zone, year: int, lang: str = "zh") -> Table | None:
    """Members per cultivation pool for the year, read through `pools.access`.

    Uses `visible_memberships(user)` (rows with `pool`, `year`, `member`). Without the
    pools app, or without memberships computed for the year, the panel is left out and
    None is returned; a changed contract of that app also leaves it out, never fails.
    """
    try:
        pools_access = importlib.import_module("innopoints.pools.access")
        memberships = pools_access.visible_memberships(user)
        grouped = list(
            memberships.filter(pool__zone=zone, pool__active=True, year=year)
            .values("pool__code", "pool__name_zh", "pool__name_en", "pool__order")
            .annotate(n=Count("id", filter=Q(member=True)))
            .order_by("pool__order", "pool__code")
        )
    except Exception:  # no pools app, or its contract changed: leave the panel out
        return None
    if not grouped:
        return None
    rows = [
        [lang_name(g["pool__name_zh"], g["pool__name_en"] or g["pool__name_zh"], lang), g["n"]]
        for g in grouped
    ]
    return Table("pools", _("Cultivation pools"), [_("Pool"), _("Firms")], rows, chart="hbar")


def latest_run(user, zone: Zone, year: int) -> ScoringRun | None:
    """The latest finished scoring run of a zone's year that the user may read."""
    return (
        scoring_access.visible_runs(user)
        .filter(zone=zone, year=year, status=ScoringRun.Status.DONE)
        .select_related("model_version", "zone")
        .order_by("-finished_at", "-id")
        .first()
    )


SCORE_SCHEMA = {
    "enterprise_id": pl.Int64,
    "uscc": pl.String,
    "name": pl.String,
    "stage": pl.String,
    "total": pl.Float64,
    "band": pl.String,
    "rank_zone": pl.Int64,
    "rank_stage": pl.Int64,
}


def score_frame(user, run: ScoringRun | None) -> pl.DataFrame:
    """A run's stored scores (one row per firm) as the user may read them."""
    if run is None:
        return pl.DataFrame(schema=SCORE_SCHEMA)
    rows = scoring_access.visible_firm_scores(user, run).values_list(
        "enterprise_id",
        "enterprise__uscc",
        "enterprise__name",
        "stage",
        "total",
        "band",
        "rank_zone",
        "rank_stage",
    )
    return pl.DataFrame(list(rows), schema=SCORE_SCHEMA, orient="row")


def _nice_width(span: float, bins: int) -> float:
    """A round bin width (1, 2, 2.5 or 5 × 10^k) covering `span` in about `bins` bins."""
    raw = max(span, 1e-9) / bins
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= raw:
            return step * power
    return 10 * power


def points_histogram(scores: pl.DataFrame, bins: int = 10) -> Table:
    """How many firms fall in each points interval [lo, hi) (the last one closed)."""
    totals = scores.get_column("total").drop_nulls() if "total" in scores.columns else None
    if totals is None or totals.is_empty():
        return Table("points", _("Points distribution"), [_("Points"), _("Firms")], [])
    top = float(totals.max())
    width = _nice_width(top, bins)
    count = max(1, math.ceil(top / width + 1e-9))
    if count * width <= top:
        count += 1
    index = (
        (totals / width).floor().cast(pl.Int64).clip(0, count - 1)
        if top > 0
        else pl.Series([0] * totals.len())
    )
    tally = index.value_counts()
    found = {int(k): int(n) for k, n in tally.iter_rows()}
    rows = []
    for i in range(count):
        lo, hi = i * width, (i + 1) * width
        rows.append([f"{lo:g}–{hi:g}", found.get(i, 0)])
    return Table(
        "points",
        _("Points distribution"),
        [_("Points"), _("Firms")],
        rows,
        extra={"width": width, "scored": int(totals.len())},
    )


def top_per_stage(scores: pl.DataFrame, stage_names: dict[str, str], n: int = 5) -> Table:
    """The `n` best-ranked firms of each stage (by rank in stage)."""
    ranked = scores.filter(pl.col("rank_stage").is_not_null()).sort(["stage", "rank_stage", "uscc"])
    top = ranked.group_by("stage", maintain_order=True).head(n)
    order = {code: k for k, code in enumerate(stage_names)}
    rows = sorted(
        (
            [
                stage_names.get(r["stage"], r["stage"]),
                r["rank_stage"],
                r["name"],
                r["uscc"],
                None if r["total"] is None else round(r["total"], 2),
                r["band"],
            ]
            for r in top.iter_rows(named=True)
        ),
        key=lambda r: (order.get(_code_of(r[0], stage_names), 99), r[1]),
    )
    return Table(
        "top",
        _("Top firms per stage"),
        [_("Stage"), _("Rank in stage"), _("Enterprise"), _("USCC"), _("Total points"), _("Band")],
        rows,
        chart="none",
    )


def _code_of(name: str, stage_names: dict[str, str]) -> str:
    for code, label in stage_names.items():
        if label == name:
            return code
    return name


def movement(current: pl.DataFrame, previous: pl.DataFrame, n: int = 10) -> dict[str, Table]:
    """Risers and fallers in zone rank between the latest runs of two years (firms in both)."""
    columns = [_("Enterprise"), _("USCC"), _("Rank last year"), _("Rank this year"), _("Change")]
    joined = (
        current.select("enterprise_id", "uscc", "name", pl.col("rank_zone").alias("rank_now"))
        .join(
            previous.select("enterprise_id", pl.col("rank_zone").alias("rank_before")),
            on="enterprise_id",
            how="inner",
        )
        .filter(pl.col("rank_now").is_not_null() & pl.col("rank_before").is_not_null())
        .with_columns((pl.col("rank_before") - pl.col("rank_now")).alias("change"))
    )

    def rows(frame: pl.DataFrame) -> list[list[Any]]:
        return [
            [r["name"], r["uscc"], r["rank_before"], r["rank_now"], r["change"]]
            for r in frame.iter_rows(named=True)
        ]

    risers = joined.filter(pl.col("change") > 0).sort(["change", "uscc"], descending=[True, False])
    fallers = joined.filter(pl.col("change") < 0).sort(["change", "uscc"])
    return {
        "risers": Table("risers", _("Risers"), columns, rows(risers.head(n)), chart="none"),
        "fallers": Table("fallers", _("Fallers"), columns, rows(fallers.head(n)), chart="none"),
        "matched": Table("matched", "", [], [], chart="none", extra={"n": joined.height}),
    }


COMPLETENESS_FIELDS = tuple(
    f for f in (*ENTERPRISE_FIELDS, *YEARLY_FIELDS) if f.code not in ("uscc", "name", "year")
)


def completeness(panel: pl.DataFrame, registered: int, lang: str) -> Table:
    """Per field, how many of the zone's firms miss it this year.

    Firms registered in the zone without any data for the year miss every yearly
    field; the first row counts them. Fields are listed most-missed first.
    """
    with_data = panel.height
    without = max(registered - with_data, 0)
    yearly_codes = {f.code for f in YEARLY_FIELDS}
    rows: list[list[Any]] = [[_("(no data for the year at all)"), without, registered]]
    missing_rows = []
    for f in COMPLETENESS_FIELDS:
        if f.code in panel.columns:
            column = panel.get_column(f.code)
            missing = int(column.is_null().sum())
            if column.dtype == pl.String:
                missing += int((column == "").sum())
        else:
            missing = with_data
        if f.code in yearly_codes:
            missing += without
        missing_rows.append([f.label(lang), missing, registered])
    missing_rows.sort(key=lambda r: (-r[1], r[0]))
    rows += missing_rows
    return Table(
        "completeness",
        _("Data completeness"),
        [_("Field"), _("Firms missing it"), _("Firms in the zone")],
        rows,
        chart="hbar",
    )
