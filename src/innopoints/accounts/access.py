"""A user's role and scope, read once per request; every other access module builds on it."""

from __future__ import annotations

from django.db.models import F

from innopoints.accounts.models import Profile, Role


def profile_of(user) -> Profile | None:
    """The user's profile (cached on the user object), or None for anonymous/unassigned users."""
    if not getattr(user, "is_authenticated", False):
        return None
    if not hasattr(user, "_innopoints_profile"):
        # one query: the profile joined with its zones (a row per zone, one when it has none)
        rows = list(
            Profile.objects.select_related("enterprise", "bank")
            .filter(user=user)
            .annotate(zone_ref=F("zones__id"))
        )
        user._innopoints_profile = rows[0] if rows else None
        user._innopoints_zone_ids = frozenset(r.zone_ref for r in rows if r.zone_ref is not None)
    return user._innopoints_profile


def role_of(user) -> str | None:
    """The user's role code, or None."""
    profile = profile_of(user)
    return profile.role if profile else None


def _zone_ids(user) -> frozenset[int]:
    profile_of(user)
    return getattr(user, "_innopoints_zone_ids", frozenset())


def admin_zone_ids(user) -> frozenset[int]:
    """Zones the user administers (empty unless zone admin)."""
    return _zone_ids(user) if role_of(user) == Role.ZONE_ADMIN else frozenset()


def overseen_zone_ids(user) -> frozenset[int]:
    """Zones whose registry the user may read as admin or supervisor."""
    return _zone_ids(user) if role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR) else frozenset()


def enterprise_id_of(user) -> int | None:
    """The enterprise an enterprise user belongs to."""
    profile = profile_of(user)
    return profile.enterprise_id if profile and profile.role == Role.ENTERPRISE else None


def bank_id_of(user) -> int | None:
    """The bank a bank user works for."""
    profile = profile_of(user)
    return profile.bank_id if profile and profile.role == Role.BANK else None


def is_zone_admin(user) -> bool:
    return role_of(user) == Role.ZONE_ADMIN


def can_manage_users(user, zone) -> bool:
    """Zone admins manage the people of their zones."""
    return zone.id in admin_zone_ids(user)


def people_of_zone(user, zone):
    """Profiles attached to a zone (its admins and supervisors, its firms' users), for its admins."""
    from django.db.models import Q

    if zone.id not in admin_zone_ids(user):
        return Profile.objects.none()
    return (
        Profile.objects.filter(Q(zones=zone) | Q(enterprise__zone=zone))
        .select_related("user", "enterprise", "bank")
        .distinct()
        .order_by("role", "user__username")
    )
