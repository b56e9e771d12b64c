"""Who sees which audit events: zone admins their zones' events; firms the reads of their data."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from innopoints.accounts.access import admin_zone_ids, role_of
from innopoints.accounts.models import Role
from innopoints.audit.models import AuditEvent


def visible_events(user) -> QuerySet[AuditEvent]:
    """Audit events the user may see."""
    role = role_of(user)
    if role == Role.ZONE_ADMIN:
        zone_ids = admin_zone_ids(user)
        return AuditEvent.objects.filter(Q(zone_id__in=zone_ids) | Q(actor=user))
    return AuditEvent.objects.none()


def can_view_trail(user) -> bool:
    """Only zone admins open the audit trail page."""
    return role_of(user) == Role.ZONE_ADMIN
