"""Statistics of policy delivery, like the seed zone reports them: items handled online,
average and 90th-percentile working days from application to payout against the
statutory limit (兑现时限), the share of the limit saved, and overdue items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from django.db.models import QuerySet
from django.utils import timezone

from innopoints.policies.models import Application, Payout
from innopoints.standard.workdays import CalendarNotCoveredError, working_days_between


def overdue(app: Application, today: dt.date | None = None) -> bool:
    """Whether the zone's current step of an open application is past its deadline."""
    today = today or timezone.localdate()
    return app.open and app.due_on is not None and app.due_on < today


def delivery_stats(
    applications: QuerySet[Application], payouts: QuerySet[Payout], today: dt.date | None = None
) -> dict[str, Any]:
    """Counts and speed of delivery over the given applications and payouts.

    `online`: applications + no-application payouts (every item is handled online here);
    `days_avg` / `days_p90`: working days from submission to payment of paid
    applications; `limit_avg`: their statutory limits; `saved_share`: 1 − days ÷ limit,
    averaged over paid items; `overdue`: open applications past their step deadline.
    A date the holiday calendar does not cover is left out and counted in `uncounted`."""
    today = today or timezone.localdate()
    rows = list(
        applications.values_list(
            "status", "submitted_at", "paid_at", "version__deadline_working_days", "due_on"
        )
    )
    batch_payouts = payouts.filter(batch__isnull=False).count()
    days, limits = [], []
    uncounted = 0
    open_states = {Application.Status.SUBMITTED, Application.Status.ACCEPTED,
                   Application.Status.APPROVED}  # fmt: skip
    n_overdue = 0
    for status, submitted, paid, limit, due in rows:
        if status in open_states and due is not None and due < today:
            n_overdue += 1
        if status != Application.Status.PAID or paid is None:
            continue
        try:
            d = working_days_between(
                timezone.localtime(submitted).date(), timezone.localtime(paid).date()
            )
        except CalendarNotCoveredError:
            uncounted += 1
            continue
        days.append(d)
        limits.append(limit)
    frame = pl.DataFrame({"days": days, "limit": limits}, schema={"days": pl.Int64,
                                                                  "limit": pl.Int64})  # fmt: skip
    paid_n = frame.height
    out: dict[str, Any] = {
        "applications": len(rows),
        "no_application_payouts": batch_payouts,
        "online": len(rows) + batch_payouts,
        "paid": paid_n,
        "overdue": n_overdue,
        "uncounted": uncounted,
        "days_avg": None,
        "days_p90": None,
        "limit_avg": None,
        "saved_share": None,
        "within_limit_share": None,
    }
    if paid_n:
        s = frame.select(
            pl.col("days").mean().alias("avg"),
            pl.col("days").quantile(0.9, interpolation="higher").alias("p90"),
            pl.col("limit").mean().alias("limit"),
            (1 - pl.col("days") / pl.col("limit")).mean().alias("saved"),
            (pl.col("days") <= pl.col("limit")).mean().alias("within"),
        ).row(0, named=True)
        out.update(
            days_avg=round(s["avg"], 1),
            days_p90=int(s["p90"]),
            limit_avg=round(s["limit"], 1),
            saved_share=round(s["saved"], 3),
            within_limit_share=round(s["within"], 3),
        )
    return out
