"""Who sees which enterprises. Views, API and exports read firm data only through here.

- zone admin: every enterprise of the zones they administer; may import and export.
- supervisor: every enterprise of the zones they oversee, read-only (export allowed).
- enterprise user: only their own enterprise.
- bank user: no registry list; one firm at a time under a valid consent or an
  application the firm sent the bank (`innopoints.finance.access.bank_may_see`); every
  read by a bank user is written to the audit trail via `note_read`.
An enterprise outside the user's scope is "not found", never "forbidden", so its
existence is not revealed.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from innopoints.accounts.access import (
    admin_zone_ids,
    bank_id_of,
    enterprise_id_of,
    overseen_zone_ids,
    role_of,
)
from innopoints.accounts.models import Role
from innopoints.audit.actions import record
from innopoints.enterprises.models import Enterprise, ImportBatch
from innopoints.zones.models import Zone


def visible_enterprises(user) -> QuerySet[Enterprise]:
    """The enterprises the user may read."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return Enterprise.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Enterprise.objects.filter(pk=enterprise_id_of(user))
    # Bank users browse no registry; they open consenting firms one at a time (below).
    return Enterprise.objects.none()


def get_visible_enterprise(user, uscc: str) -> Enterprise:
    """One enterprise the user may read, or 404; a bank user's read is audited."""
    if "\x00" in uscc:  # PostgreSQL refuses NUL in text; no USCC contains one
        raise Http404("enterprise not found")
    if role_of(user) == Role.BANK:
        from innopoints.finance.access import bank_enterprises  # finance builds on this app

        scope = bank_enterprises(user)
    else:
        scope = visible_enterprises(user)
    enterprise = scope.select_related("zone").filter(uscc=uscc.upper()).first()
    if enterprise is None:
        raise Http404("enterprise not found")
    note_read(user, enterprise)
    return enterprise


def note_read(user, enterprise: Enterprise) -> None:
    """Record a bank user's read of an enterprise's data in the audit trail."""
    if role_of(user) == Role.BANK:
        record(
            user,
            "enterprise.read",
            enterprise,
            zone=enterprise.zone,
            detail={"bank_id": bank_id_of(user)},
        )


def can_list_enterprises(user) -> bool:
    """Zone admins and supervisors browse the registry."""
    return role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR)


def zones_for_import(user) -> QuerySet[Zone]:
    """Zones whose data the user may import (zone admins only)."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


def zones_for_export(user) -> QuerySet[Zone]:
    """Zones whose registry the user may export (admins and supervisors)."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


def get_import_zone(user, code: str) -> Zone:
    """A zone the user may import into, or 404."""
    zone = zones_for_import(user).filter(code=code).first()
    if zone is None:
        raise Http404("zone not found")
    return zone


def visible_batches(user) -> QuerySet[ImportBatch]:
    """Import batches of the zones the user administers."""
    return ImportBatch.objects.filter(zone_id__in=admin_zone_ids(user))


def enterprise_ids(zone: Zone) -> dict[str, int]:
    """USCC → database id of every enterprise of a zone (for actions that write per firm)."""
    return dict(Enterprise.objects.filter(zone=zone).values_list("uscc", "id"))
