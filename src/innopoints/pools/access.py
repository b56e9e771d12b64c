"""Who sees and manages cultivation pools. Views and the API read pool data only through here.

- zone admin: every pool, computation, membership and override of the zones they
  administer; may configure pools, compute memberships and add or remove firms.
- supervisor: the same of the zones they oversee, read-only.
- enterprise user: only their own firm's memberships and near-misses (no pool pages).
- bank user: nothing (pages 403, API lists empty, objects "not found").
Objects of a zone outside the user's scope are "not found", never "forbidden".
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from innopoints.accounts.access import (
    admin_zone_ids,
    enterprise_id_of,
    overseen_zone_ids,
    role_of,
)
from innopoints.accounts.models import Role
from innopoints.enterprises.models import Enterprise
from innopoints.pools.models import Pool, PoolComputation, PoolMembership, PoolOverride
from innopoints.zones.models import Zone


def can_view_pools(user) -> bool:
    """Zone admins and supervisors use the pool pages."""
    return role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR)


def can_manage_pool(user, pool: Pool) -> bool:
    """Zone admins configure the pools of their zones and override memberships."""
    return pool.zone_id in admin_zone_ids(user)


def can_manage_zone(user, zone: Zone) -> bool:
    """Zone admins compute and configure the pools of their zones."""
    return zone.pk in admin_zone_ids(user)


def visible_zones(user) -> QuerySet[Zone]:
    """Zones whose pools the user may read."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


def managed_zones(user) -> QuerySet[Zone]:
    """Zones whose pools the user may change."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


def visible_pools(user) -> QuerySet[Pool]:
    """Pools of the zones the user may read (admins and supervisors)."""
    return Pool.objects.filter(zone_id__in=overseen_zone_ids(user))


def get_visible_pool(user, pk: int) -> Pool:
    """One pool the user may read, or 404."""
    pool = visible_pools(user).select_related("zone").filter(pk=pk).first()
    if pool is None:
        raise Http404("pool not found")
    return pool


def visible_computations(user) -> QuerySet[PoolComputation]:
    """Pool computations of the zones the user may read."""
    return PoolComputation.objects.filter(zone_id__in=overseen_zone_ids(user))


def visible_memberships(user) -> QuerySet[PoolMembership]:
    """Memberships the user may read: their zones' (admin, supervisor), their own firm's
    (enterprise user, active pools only), none (bank, anonymous)."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return PoolMembership.objects.filter(pool__zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return PoolMembership.objects.filter(
            enterprise_id=enterprise_id_of(user), pool__active=True
        )
    return PoolMembership.objects.none()


def visible_overrides(user) -> QuerySet[PoolOverride]:
    """Overrides of the zones the user may read (admins and supervisors)."""
    return PoolOverride.objects.filter(pool__zone_id__in=overseen_zone_ids(user))


def get_pool_firm(user, uscc: str) -> Enterprise:
    """An enterprise whose pool results the user may read, or 404.

    Admins and supervisors: firms of their zones; an enterprise user: their own firm;
    bank users: none (pool results are not shared with banks).
    """
    role = role_of(user)
    firms = Enterprise.objects.none()
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        firms = Enterprise.objects.filter(zone_id__in=overseen_zone_ids(user))
    elif role == Role.ENTERPRISE:
        firms = Enterprise.objects.filter(pk=enterprise_id_of(user))
    enterprise = firms.select_related("zone").filter(uscc=uscc.upper()).first()
    if enterprise is None:
        raise Http404("enterprise not found")
    return enterprise


def own_firm(user) -> Enterprise | None:
    """The enterprise user's own firm (None for other roles)."""
    pk = enterprise_id_of(user)
    return Enterprise.objects.select_related("zone").filter(pk=pk).first() if pk else None


def firm_memberships(user, enterprise: Enterprise) -> QuerySet[PoolMembership]:
    """The stored pool results of one firm that the user may read (for its pages)."""
    return visible_memberships(user).filter(enterprise=enterprise)
