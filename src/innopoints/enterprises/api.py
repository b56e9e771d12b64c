"""API endpoints for zones and enterprises; every read goes through the access module."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.enterprises import access
from innopoints.enterprises.models import ENTERPRISE_COLUMNS, YEARLY_COLUMNS

router = Router(tags=["enterprises"])


class ZoneOut(Schema):
    code: str
    name: str
    level: str
    region_code: str


class EnterpriseOut(Schema):
    uscc: str
    name: str
    zone: str
    industry_code: str
    region_code: str
    registered_on: dt.date | None
    registered_capital: float | None
    listing_status: str
    niche_years: float | None

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj["zone"] if isinstance(obj, dict) else obj.zone.code


class EnterpriseDetailOut(EnterpriseOut):
    years: list[dict]


def _enterprise_out(e) -> dict:
    data = {c: getattr(e, c) for c in ENTERPRISE_COLUMNS}
    data["zone"] = e.zone.code
    return data


@router.get("/zones", response=list[ZoneOut])
def list_zones(request: HttpRequest):
    """Zones the user administers or oversees."""
    return list(access.zones_for_export(request.user))


@router.get("/enterprises", response=list[EnterpriseOut])
@paginate(LimitOffsetPagination)
def list_enterprises(request: HttpRequest, q: str = "", section: str = ""):
    """Enterprises visible to the user; `q` searches name and USCC, `section` the industry."""
    qs = access.visible_enterprises(request.user).select_related("zone").order_by("uscc")
    if q:
        qs = qs.filter(name__icontains=q) | qs.filter(uscc__icontains=q.upper())
    if section:
        qs = qs.filter(industry_code__startswith=section[:1])
    return qs


@router.get("/enterprises/{uscc}", response=EnterpriseDetailOut)
def get_enterprise(request: HttpRequest, uscc: str):
    """One enterprise with its yearly data (404 outside the user's scope)."""
    e = access.get_visible_enterprise(request.user, uscc)
    years = [
        {"year": y.year, **{c: getattr(y, c) for c in YEARLY_COLUMNS}, **(y.custom or {})}
        for y in e.years.order_by("year")
    ]
    return {**_enterprise_out(e), "years": years}
