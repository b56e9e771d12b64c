"""Zone statistics of the services, computed in Polars over querysets the caller has
already scoped through `services.access`."""

from __future__ import annotations

import datetime as dt

import polars as pl
from django.db.models import QuerySet

from innopoints.services.models import STAGE_ORDER


def frame(queryset: QuerySet, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(
        list(queryset.values_list(*schema)),
        schema={k.replace("__", "_"): v for k, v in schema.items()},
        orient="row",
    )


def contract_stats(contracts: QuerySet) -> dict:
    """Count and amount in total, by year and by type."""
    f = frame(contracts, {"registered_on": pl.Date, "type": pl.String, "amount": pl.Float64})
    by_year = (
        f.group_by(pl.col("registered_on").dt.year().alias("year"))
        .agg(pl.len().alias("count"), pl.col("amount").sum().round(2).alias("amount"))
        .sort("year")
    )
    by_type = (
        f.group_by("type")
        .agg(pl.len().alias("count"), pl.col("amount").sum().round(2).alias("amount"))
        .sort("amount", descending=True)
    )
    return {
        "count": f.height,
        "amount": round(float(f["amount"].sum() or 0), 2),
        "by_year": by_year.to_dicts(),
        "by_type": by_type.to_dicts(),
    }


def conversion_stats(results: QuerySet, conversions: QuerySet, income: QuerySet) -> dict:
    """Results converted, the share converted inside the zone, income by university/year."""
    r = frame(results, {"id": pl.Int64, "status": pl.String})
    c = frame(conversions, {"result_id": pl.Int64, "in_zone": pl.Boolean, "amount": pl.Float64})
    i = frame(
        income,
        {
            "result__university": pl.String,
            "year": pl.Int64,
            "basis_amount": pl.Float64,
            "university_amount": pl.Float64,
        },
    )
    converted = c.select(pl.col("result_id").n_unique()).item() if c.height else 0
    in_zone = (
        c.filter(pl.col("in_zone")).select(pl.col("result_id").n_unique()).item() if c.height else 0
    )
    by_uni = (
        i.group_by("result_university", "year")
        .agg(
            pl.col("basis_amount").sum().round(2).alias("income"),
            pl.col("university_amount").sum().round(2).alias("university_amount"),
        )
        .sort("result_university", "year")
        .rename({"result_university": "university"})
    )
    return {
        "results": r.height,
        "by_status": r.group_by("status").len().sort("status").to_dicts(),
        "converted": converted,
        "converted_in_zone": in_zone,
        "share_in_zone": round(in_zone / converted, 4) if converted else None,
        "conversion_amount": round(float(c["amount"].sum() or 0), 2),
        "income_by_university_year": by_uni.to_dicts(),
        "university_income": round(float(i["university_amount"].sum() or 0), 2),
    }


def ledger(result) -> dict:
    """One result's income ledger: every entry and the totals."""
    f = frame(
        result.income.order_by("year", "quarter"),
        {
            "conversion__firm_name": pl.String,
            "year": pl.Int64,
            "quarter": pl.Int64,
            "basis_amount": pl.Float64,
            "ratio": pl.Float64,
            "university_amount": pl.Float64,
        },
    )
    return {
        "entries": f.to_dicts(),
        "basis_total": round(float(f["basis_amount"].sum() or 0), 2),
        "university_total": round(float(f["university_amount"].sum() or 0), 2),
        "team_total": round(float((f["basis_amount"] - f["university_amount"]).sum() or 0), 2),
    }


def project_table(projects: QuerySet, investments: QuerySet, milestones: QuerySet, today: dt.date):
    """Per project: actual investment of the plan year, progress against the plan (and
    against the plan prorated to today), overdue milestones; plus the zone's totals."""
    p = frame(
        projects,
        {
            "id": pl.Int64,
            "name": pl.String,
            "enterprise__name": pl.String,
            "total_investment": pl.Float64,
            "plan_year": pl.Int64,
            "planned_this_year": pl.Float64,
            "stage": pl.String,
        },
    )
    inv = frame(investments, {"project_id": pl.Int64, "month": pl.Date, "amount": pl.Float64})
    ms = frame(
        milestones,
        {"project_id": pl.Int64, "stage": pl.String, "due_on": pl.Date, "reached_on": pl.Date},
    )
    actual = (
        inv.join(p.select("id", "plan_year"), left_on="project_id", right_on="id")
        .filter(pl.col("month").dt.year() == pl.col("plan_year"))
        .group_by("project_id")
        .agg(pl.col("amount").sum().alias("actual_this_year"))
    )
    cumulative = inv.group_by("project_id").agg(pl.col("amount").sum().alias("actual_total"))
    overdue = (
        ms.filter(pl.col("reached_on").is_null() & (pl.col("due_on") < today))
        .group_by("project_id")
        .agg(
            pl.len().alias("overdue"),
            pl.col("stage").sort_by("due_on").first().alias("overdue_stage"),
        )
    )
    elapsed = (
        pl.when(pl.col("plan_year") < today.year)
        .then(1.0)
        .when(pl.col("plan_year") > today.year)
        .then(0.0)
        .otherwise(today.month / 12)
    )
    table = (
        p.join(actual, left_on="id", right_on="project_id", how="left")
        .join(cumulative, left_on="id", right_on="project_id", how="left")
        .join(overdue, left_on="id", right_on="project_id", how="left")
        .with_columns(
            pl.col("actual_this_year").fill_null(0.0),
            pl.col("actual_total").fill_null(0.0),
            pl.col("overdue").fill_null(0).cast(pl.Int64),
            pl.col("stage")
            .replace_strict({s: i for i, s in enumerate(STAGE_ORDER)})
            .alias("stage_index"),
        )
        .with_columns(
            pl.when(pl.col("planned_this_year") > 0)
            .then(pl.col("actual_this_year") / pl.col("planned_this_year"))
            .alias("progress"),
            pl.when(pl.col("planned_this_year") * elapsed > 0)
            .then(pl.col("actual_this_year") / (pl.col("planned_this_year") * elapsed))
            .alias("progress_vs_schedule"),
        )
        .sort("total_investment", descending=True)
    )
    totals = {
        "projects": table.height,
        "total_investment": round(float(table["total_investment"].sum() or 0), 2),
        "planned_this_year": round(float(table["planned_this_year"].sum() or 0), 2),
        "actual_this_year": round(float(table["actual_this_year"].sum() or 0), 2),
        "overdue_projects": int((table["overdue"] > 0).sum()),
        "by_stage": {s: int(v) for s, v in table.group_by("stage").len().iter_rows()},
    }
    pt = totals["planned_this_year"]
    totals["progress"] = round(totals["actual_this_year"] / pt, 4) if pt else None
    monthly = (
        inv.filter(pl.col("month").dt.year() == today.year)
        .group_by(pl.col("month").dt.month().alias("m"))
        .agg(pl.col("amount").sum().round(2))
        .sort("m")
    )
    return table, totals, monthly


def handling_stats(requests: QuerySet, today: dt.date) -> dict:
    """Requests by state, those handled, average working days against the statutory
    limit, the share of time saved, and open requests past their promised deadline."""
    f = frame(
        requests,
        {
            "state": pl.String,
            "working_days": pl.Int64,
            "procedure__statutory_days": pl.Int64,
            "procedure__promised_days": pl.Int64,
            "promised_deadline": pl.Date,
        },
    )
    done = f.filter(pl.col("state") == "completed")
    statutory = float(done["procedure_statutory_days"].sum() or 0)
    taken = float(done["working_days"].sum() or 0)
    return {
        "requests": f.height,
        "by_state": {s: n for s, n in f.group_by("state").len().iter_rows()},
        "handled": done.height,
        "avg_days": round(taken / done.height, 2) if done.height else None,
        "avg_statutory_days": round(statutory / done.height, 2) if done.height else None,
        "time_saved": round(1 - taken / statutory, 4) if statutory else None,
        "on_time": int((done["working_days"] <= done["procedure_promised_days"]).sum()),
        "overdue_open": f.filter(
            (pl.col("state") == "accepted") & (pl.col("promised_deadline") < today)
        ).height,
    }
