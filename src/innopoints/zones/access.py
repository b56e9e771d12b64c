"""Who may see and configure which zones."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from innopoints.accounts.access import admin_zone_ids, overseen_zone_ids
from innopoints.zones.models import Zone


def visible_zones(user) -> QuerySet[Zone]:
    """Zones the user administers or oversees."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


def configurable_zones(user) -> QuerySet[Zone]:
    """Zones whose settings (custom fields, people) the user may change: their admin zones."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


def get_configurable_zone(user, code: str) -> Zone:
    """A zone the user administers, or 404."""
    zone = configurable_zones(user).filter(code=code).first()
    if zone is None:
        raise Http404("zone not found")
    return zone
