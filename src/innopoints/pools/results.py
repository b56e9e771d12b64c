"""Reading stored pool results: counts per pool and year, filtered lists, movements.

Every function takes querysets the caller got from `pools.access`, so scope rules apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from innopoints.pools.models import Pool, PoolMembership

STATUS_FILTERS = ("eligible", "ineligible", "unknown")


def counts_by_pool_year(memberships: QuerySet[PoolMembership]) -> dict[int, dict[int, dict]]:
    """{pool id: {year: {members, eligible, ineligible, unknown, overrides, computed_at}}}
    in one query."""
    rows = (
        memberships.values("pool_id", "year")
        .annotate(
            members=Count("id", filter=Q(member=True)),
            eligible=Count("id", filter=Q(status="eligible")),
            ineligible=Count("id", filter=Q(status="ineligible")),
            unknown=Count("id", filter=Q(status="unknown")),
            overrides=Count("id", filter=Q(source="override")),
            computed_at=Max("computed_at"),
        )
        .order_by("pool_id", "-year")
    )
    out: dict[int, dict[int, dict]] = {}
    for r in rows:
        out.setdefault(r["pool_id"], {})[r["year"]] = r
    return out


def filter_memberships(
    memberships: QuerySet[PoolMembership], params: Any, *, near: bool = False
) -> tuple[QuerySet[PoolMembership], dict[str, str]]:
    """Apply the list filters (stage, section, status, member, q) of a page or API call.

    `near` selects the near-miss list: ineligible firms with a near-miss text, those a
    single change would let in first.
    """
    stage = params.get("stage", "") or ""
    section = params.get("section", "") or ""
    status = params.get("status", "") or ""
    member = params.get("member", "") or ""
    q = (params.get("q", "") or "").strip()
    if near:
        memberships = memberships.filter(status="ineligible", member=False).exclude(near_miss="")
        member = ""
    elif not status and not member:
        member = "yes"
    if stage:
        memberships = memberships.filter(stage=stage)
    if section:
        memberships = memberships.filter(industry_section=section[:1])
    if status in STATUS_FILTERS:
        memberships = memberships.filter(status=status)
    else:
        status = ""
    if member == "yes":
        memberships = memberships.filter(member=True)
    elif member == "no":
        memberships = memberships.filter(member=False)
    else:
        member = ""
    if q:
        memberships = memberships.filter(
            Q(enterprise__name__icontains=q) | Q(enterprise__uscc__icontains=q.upper())
        )
    if near:
        memberships = memberships.order_by("near_miss_blocked", "-score", "enterprise__uscc")
    else:
        memberships = memberships.order_by("-member", "status", "-score", "enterprise__uscc")
    return memberships, {
        "stage": stage,
        "section": section,
        "status": status,
        "member": member,
        "q": q,
    }


@dataclass
class Movement:
    """One firm that entered or left a pool between two years."""

    enterprise_id: int
    uscc: str
    name: str
    kind: str  # "entered" or "left"
    now: PoolMembership | None
    before: PoolMembership | None
    why: str = ""


@dataclass
class Movements:
    """Who entered and left a pool between `previous` and `year`."""

    year: int
    previous: int
    entered: list[Movement] = field(default_factory=list)
    left: list[Movement] = field(default_factory=list)
    stayed: int = 0


def _why(kind: str, now: PoolMembership | None, before: PoolMembership | None, lang: str) -> str:
    """Why a firm moved, from the stored reasons (overrides first)."""
    if now is None:
        return "No result for this year (no data)." if lang == "en" else "本年度无结果（无数据）"
    if now.source == "override":
        head = "Override: " if lang == "en" else "人工调整："
        return head + now.override_reason
    return now.reasons_in(lang)


def movements(
    memberships: QuerySet[PoolMembership], pool: Pool, year: int, lang: str = "zh"
) -> Movements:
    """Firms that entered or left `pool` between year − 1 and `year`, with the stored
    reasons of `year` (two queries)."""
    previous = year - 1
    rows = list(
        memberships.filter(pool=pool, year__in=(previous, year))
        .select_related("enterprise")
        .order_by("enterprise__uscc", "year")
    )
    by_firm: dict[int, dict[int, PoolMembership]] = {}
    for m in rows:
        by_firm.setdefault(m.enterprise_id, {})[m.year] = m
    out = Movements(year=year, previous=previous)
    for enterprise_id, years in by_firm.items():
        now, before = years.get(year), years.get(previous)
        was, is_ = bool(before and before.member), bool(now and now.member)
        if was == is_:
            out.stayed += int(is_)
            continue
        kind = "entered" if is_ else "left"
        firm = (now or before).enterprise  # type: ignore[union-attr]
        move = Movement(
            enterprise_id, firm.uscc, firm.name, kind, now, before, _why(kind, now, before, lang)
        )
        (out.entered if is_ else out.left).append(move)
    return out
