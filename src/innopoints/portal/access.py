"""Who sees what of the zone portal. Views and the API read portal data only through here.

- zone admin: the dashboard, rankings, publications and objections of the zones they
  administer; may publish rankings and resolve objections.
- supervisor: the dashboard, rankings and publications of the zones they oversee,
  read-only; not the objections (they hold a firm's own reasons and files).
- enterprise user: their own placement in the published rankings of their zone and
  their own objections (and attachments); may file objections before the deadline.
- bank user: nothing.
Objects of a zone outside the user's scope are "not found", never "forbidden".
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from innopoints.accounts.access import (
    admin_zone_ids,
    enterprise_id_of,
    overseen_zone_ids,
    role_of,
)
from innopoints.accounts.models import Role
from innopoints.portal.models import Objection, ObjectionAttachment, Placement, Publication
from innopoints.zones.models import Zone


def can_view_dashboard(user) -> bool:
    """Zone admins and supervisors use the dashboard, rankings and publication pages."""
    return role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR)


def can_manage_objections(user) -> bool:
    """Zone admins handle objections (the list page)."""
    return role_of(user) == Role.ZONE_ADMIN


def is_enterprise(user) -> bool:
    """Enterprise users see their own placement and objections."""
    return role_of(user) == Role.ENTERPRISE


def dashboard_zones(user) -> QuerySet[Zone]:
    """Zones whose dashboard and rankings the user may read."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


def get_dashboard_zone(user, zone_id: int | str) -> Zone:
    """A zone whose dashboard the user may read, or 404."""
    zone = dashboard_zones(user).filter(pk=zone_id).first() if str(zone_id).isdigit() else None
    if zone is None:
        raise Http404("zone not found")
    return zone


def can_publish(user, zone: Zone) -> bool:
    """Zone admins publish the rankings of their zones."""
    return zone.pk in admin_zone_ids(user)


def visible_publications(user) -> QuerySet[Publication]:
    """Publications the user may read: admins and supervisors of their zones; an
    enterprise user those that list their firm; nobody else."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return Publication.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Publication.objects.filter(placements__enterprise_id=enterprise_id_of(user))
    return Publication.objects.none()


def get_visible_publication(user, pk: int) -> Publication:
    """One publication the user may read, or 404."""
    publication = visible_publications(user).select_related("zone").filter(pk=pk).first()
    if publication is None:
        raise Http404("publication not found")
    return publication


def visible_placements(user, publication: Publication) -> QuerySet[Placement]:
    """A publication's rows the user may read: all for its admins and supervisors, only
    the firm's own row for an enterprise user, none otherwise."""
    role = role_of(user)
    placements = Placement.objects.filter(publication=publication)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        if publication.zone_id in overseen_zone_ids(user):
            return placements
        return Placement.objects.none()
    if role == Role.ENTERPRISE:
        return placements.filter(enterprise_id=enterprise_id_of(user))
    return Placement.objects.none()


def own_placements(user) -> QuerySet[Placement]:
    """An enterprise user's rows in every published ranking (empty for other roles)."""
    if role_of(user) != Role.ENTERPRISE:
        return Placement.objects.none()
    return Placement.objects.filter(enterprise_id=enterprise_id_of(user))


def can_file_objection(user, publication: Publication, now=None) -> bool:
    """An enterprise user listed in `publication` may object until its deadline."""
    if role_of(user) != Role.ENTERPRISE:
        return False
    if (now or timezone.now()) > publication.objection_deadline:
        return False
    return Placement.objects.filter(
        publication=publication, enterprise_id=enterprise_id_of(user)
    ).exists()


def visible_objections(user) -> QuerySet[Objection]:
    """Objections the user may read: admins those of their zones, an enterprise user its
    own; nobody else (supervisors and banks see none)."""
    role = role_of(user)
    if role == Role.ZONE_ADMIN:
        return Objection.objects.filter(publication__zone_id__in=admin_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Objection.objects.filter(enterprise_id=enterprise_id_of(user))
    return Objection.objects.none()


def get_visible_objection(user, pk: int) -> Objection:
    """One objection the user may read, or 404."""
    objection = (
        visible_objections(user)
        .select_related("publication", "publication__zone", "enterprise", "filed_by", "resolved_by")
        .filter(pk=pk)
        .first()
    )
    if objection is None:
        raise Http404("objection not found")
    return objection


def can_resolve_objection(user, objection: Objection) -> bool:
    """Admins of the publication's zone resolve its objections."""
    return objection.publication.zone_id in admin_zone_ids(user)


def get_visible_attachment(user, pk: int) -> ObjectionAttachment:
    """An attachment of an objection the user may read (the filing firm, the zone's
    admins), or 404 for everyone else."""
    attachment = (
        ObjectionAttachment.objects.filter(objection__in=visible_objections(user), pk=pk)
        .select_related("objection")
        .first()
    )
    if attachment is None:
        raise Http404("attachment not found")
    return attachment
