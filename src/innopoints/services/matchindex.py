"""The matcher of a zone's active supply list, cached per process until the list changes."""

from __future__ import annotations

import threading

from django.db.models import Count, Max

from innopoints.services.matching import Candidate, Matcher, SupplyDoc
from innopoints.services.models import DemandItem, SupplyItem

_CACHE: dict[int, tuple[tuple, Matcher]] = {}
_LOCK = threading.Lock()


def zone_matcher(zone_id: int) -> Matcher:
    """The BM25 index of the zone's active supply items (rebuilt when an item changes)."""
    items = SupplyItem.objects.filter(zone_id=zone_id, active=True)
    stamp = tuple(items.aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id")).values())
    with _LOCK:
        cached = _CACHE.get(zone_id)
        if cached and cached[0] == stamp:
            return cached[1]
    docs = [
        SupplyDoc(
            id=pk,
            title=title,
            keywords=keywords,
            description=description,
            field=field,
            industries=industries,
        )
        for pk, title, keywords, description, field, industries in items.order_by("id").values_list(
            "id", "title", "keywords", "description", "field", "industries"
        )
    ]
    matcher = Matcher(docs)
    with _LOCK:
        _CACHE[zone_id] = (stamp, matcher)
    return matcher


def demand_text(demand: DemandItem) -> str:
    return f"{demand.problem} {demand.description}"


def rank_for_demand(
    demand: DemandItem, *, same_field: bool = False, same_industry: bool = False, k: int = 10
) -> list[Candidate]:
    """Ranked supply candidates for a demand, optionally filtered by field and industry."""
    section = (demand.enterprise.industry_code or "")[:1] if same_industry else ""
    return zone_matcher(demand.zone_id).rank(
        demand_text(demand), field=demand.field if same_field else "", section=section, k=k
    )
