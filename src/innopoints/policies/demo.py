"""Demo data of the policies app: the shipped catalogue published in the demo zone and
matched, one draft for the sandbox, payout batches (one approved, one proposed with a
budget shortfall) and applications at every step, some overdue, dated within the years
the holiday calendar covers. Every write goes through the policies actions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from innopoints.enterprises.models import Enterprise
from innopoints.policies.actions import (
    PolicyError,
    do_accept_application,
    do_approve_application,
    do_approve_batch,
    do_import_policies,
    do_pay_application,
    do_propose_batch,
    do_reject_application,
    do_save_draft,
    do_submit_application,
)
from innopoints.policies.catalogue import read_yaml, shipped_catalogue
from innopoints.policies.models import Policy, PolicyMatch
from innopoints.zones.models import Zone


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, day.day, hour))


def seed_policies(zone: Zone, echo: Callable[[str], None] = print) -> str:
    """Publish the demo catalogue in `zone` and add batches and applications (once)."""
    if Policy.objects.filter(zone=zone).exists():
        return "policies: already seeded"
    from innopoints.pools.actions import ensure_default_pools

    ensure_default_pools([zone])  # policies may read pool memberships (pool_<code>)
    _compute_pools(zone, echo)
    entries = read_yaml(shipped_catalogue().read_bytes())
    result = do_import_policies(None, zone, entries, publish=True, file_name="demo-zone.yaml")
    if result.issues:
        raise ValueError("; ".join(str(i) for i in result.issues))
    policies = {p.code: p for p in Policy.objects.filter(zone=zone)}
    # a draft that lowers the R&D threshold, for the sandbox
    do_save_draft(
        None,
        policies["rd-expense-subsidy"],
        {"rule": {"all": [{">=": [{"field": "rd_expense"}, 60]},
                          {"not": {"negative": ["serious_dishonesty"]}}]},
         "budget": 3500},
    )  # fmt: skip
    years = PolicyMatch.objects.filter(policy__zone=zone).values_list("year", flat=True)
    if not years:
        return f"policies: {len(result.published)} published (no data matched yet)"
    year = max(years)
    batch = do_propose_batch(None, policies["invention-patent-subsidy"], str(year))
    do_approve_batch(None, batch, today=dt.date(2026, 6, 15))
    do_propose_batch(None, policies["rd-expense-subsidy"], str(year), shortfall_rule="by_rank")
    _applications(zone, policies, str(year))
    return (
        f"policies: {len(result.published)} published, matched "
        f"{PolicyMatch.objects.filter(policy__zone=zone).count():,} firm × policy results"
    )


def _compute_pools(zone: Zone, echo: Callable[[str], None]) -> None:
    """Compute the default pools for the newest data year if nobody has (the pool-based
    policies then have memberships to read instead of being undecided)."""
    from innopoints.enterprises.panel import zone_derived
    from innopoints.pools.actions import PoolError, do_compute_pools
    from innopoints.pools.models import PoolComputation

    panel = zone_derived(zone)
    if panel.is_empty():
        return
    year = int(panel["year"].max())
    if PoolComputation.objects.filter(zone=zone, year=year, status="done").exists():
        return
    try:
        do_compute_pools(None, zone, year, near_miss=False)
    except PoolError as exc:  # pragma: no cover - no active pool
        echo(f"pools not computed: {exc}")


def _applications(zone: Zone, policies: dict[str, Policy], period: str) -> None:
    """Applications of eligible firms at every step (submitted in 2026)."""
    codes = [c for c in ("talent-subsidy", "ip-pledge-interest", "first-loan-interest",
                         "pct-application-subsidy", "export-credit-insurance") if c in policies]  # fmt: skip
    firms = list(
        Enterprise.objects.filter(zone=zone).order_by("uscc").values_list("pk", flat=True)[:400]
    )
    eligible = set(
        PolicyMatch.objects.filter(
            policy__code__in=codes, enterprise_id__in=firms, status="eligible"
        ).values_list("policy__code", "enterprise_id")
    )
    start = dt.date(2026, 3, 2)
    n = 0
    demo_firm = firms[0] if firms else None  # the demo enterprise user's firm
    mine = sorted(pair for pair in eligible if pair[1] == demo_firm)[:2]
    others = [pair for pair in sorted(eligible) if pair not in mine][:34]
    for code, firm_id in mine + others:
        firm = Enterprise.objects.get(pk=firm_id)
        submitted = start + dt.timedelta(days=(n * 7) % 240)
        try:
            app = do_submit_application(None, policies[code], period, enterprise=firm,
                                        now=_at(submitted), contact="企业联系人 0311-8000-0000")  # fmt: skip
        except PolicyError:
            continue
        stage = n % 6
        n += 1
        if stage == 0:
            continue  # submitted, waiting (overdue unless recent)
        app = do_accept_application(None, app, now=_at(submitted + dt.timedelta(days=1)))
        if stage == 1:
            continue
        if stage == 2:
            do_reject_application(
                None, app, "材料不全：缺少付息凭证", now=_at(submitted + dt.timedelta(days=6))
            )
            continue
        app = do_approve_application(None, app, now=_at(submitted + dt.timedelta(days=8)))
        if stage == 3:
            continue
        do_pay_application(None, app, now=_at(submitted + dt.timedelta(days=12 + 3 * stage)))
