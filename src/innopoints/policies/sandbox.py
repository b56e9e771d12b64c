"""Policy sandbox (政策沙盘): a draft against the published version, before publishing.

One engine pass over the zone's firms evaluates both versions (status and amount, no
reason texts); the comparison is Polars group-bys: how many firms qualify and what it
costs in total, by stage, industry section and cultivation pool, against the budget;
and the firms that gain or lose eligibility.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from innopoints.policies import inputs
from innopoints.policies.matching import match_fast, pool_field
from innopoints.policies.models import PolicyVersion

LIST_LIMIT = 200


def _summary(frame: pl.DataFrame, by: str | None) -> list[dict[str, Any]]:
    keys = [by] if by else []
    agg = [
        (pl.col("status_cur") == "eligible").sum().alias("current"),
        (pl.col("status_new") == "eligible").sum().alias("draft"),
        pl.when(pl.col("status_cur") == "eligible").then(pl.col("amount_cur")).sum().alias("cost_current"),
        pl.when(pl.col("status_new") == "eligible").then(pl.col("amount_new")).sum().alias("cost_draft"),
        (pl.col("status_new") == "unknown").sum().alias("unknown_draft"),
    ]  # fmt: skip
    if not keys:
        return frame.select(agg).with_columns(pl.lit("").alias("key")).to_dicts()
    return (
        frame.group_by(keys)
        .agg(agg)
        .rename({by: "key"})
        .filter((pl.col("current") > 0) | (pl.col("draft") > 0))
        .sort("key")
        .to_dicts()
    )


def compare(draft: PolicyVersion, year: int | None = None) -> dict[str, Any] | None:
    """The draft against the policy's published version (or nothing) over the zone's
    firms of `year`: totals, by stage / industry / pool, budget, gainers and losers.
    None without data. Raises `RuleError` when the draft does not compile."""
    policy = draft.policy
    zone = policy.zone
    zin = inputs.zone_inputs(zone, year)
    if zin is None:
        return None
    current = policy.published()
    crits = [inputs.criterion_of(draft, zin.fields)]
    ids = {draft.criterion_id: "new"}
    if current is not None and current.pk != draft.pk:
        crits.append(inputs.criterion_of(current, zin.fields))
        ids[current.criterion_id] = "cur"
    result = match_fast(zin.panel, crits, zin.year, scores=zin.scores)
    wide = None
    for cid, tag in ids.items():
        part = result.filter(pl.col("criterion") == cid).select(
            "uscc", pl.col("status").alias(f"status_{tag}"), pl.col("amount").alias(f"amount_{tag}")
        )
        wide = part if wide is None else wide.join(part, on="uscc", how="full", coalesce=True)
    if "status_cur" not in wide.columns:
        wide = wide.with_columns(
            pl.lit("ineligible").alias("status_cur"),
            pl.lit(None, dtype=pl.Float64).alias("amount_cur"),
        )
    year_rows = zin.panel.filter(pl.col("year") == zin.year)
    pools = [(c, zh, en) for c, zh, en in inputs.zone_pools(zone)]
    pool_cols = [pool_field(c) for c, _zh, _en in pools if pool_field(c) in year_rows.columns]
    info = year_rows.select(
        "uscc",
        pl.col("name"),
        pl.col("stage").cast(pl.String).fill_null("—").alias("stage"),
        pl.col("industry_code").fill_null("").str.slice(0, 1).replace("", "—").alias("industry"),
        *pool_cols,
    )
    frame = wide.join(info, on="uscc", how="left")
    by_pool = []
    for code, zh, en in pools:
        col = pool_field(code)
        if col not in frame.columns:
            continue
        row = _summary(frame.filter(pl.col(col).fill_null(False)), None)[0]
        row.update(key=code, name_zh=zh, name_en=en)
        by_pool.append(row)
    gained = frame.filter(
        (pl.col("status_new") == "eligible") & (pl.col("status_cur") != "eligible")
    )
    lost = frame.filter((pl.col("status_cur") == "eligible") & (pl.col("status_new") != "eligible"))
    cols = [
        "uscc",
        "name",
        "stage",
        "industry",
        "status_cur",
        "status_new",
        "amount_cur",
        "amount_new",
    ]
    total = _summary(frame, None)[0]
    budget = draft.budget
    return {
        "year": zin.year,
        "firms": frame.height,
        "has_current": "cur" in ids.values(),
        "current_version": current.number if current else None,
        "total": total,
        "budget": budget,
        "budget_current": current.budget if current else None,
        "over_budget": budget is not None and (total["cost_draft"] or 0) > budget,
        "by_stage": _summary(frame, "stage"),
        "by_industry": _summary(frame, "industry"),
        "by_pool": by_pool,
        "gained_count": gained.height,
        "lost_count": lost.height,
        "gained": gained.select(cols).sort("uscc").head(LIST_LIMIT).to_dicts(),
        "lost": lost.select(cols).sort("uscc").head(LIST_LIMIT).to_dicts(),
    }
