"""Who sees and changes the zone services. Views and the API read only through here.

- zone admin: everything of the zones they administer; the only role that writes,
  except what a firm does for itself (below).
- supervisor: everything of the zones they oversee, read-only.
- enterprise user: their own firm's contracts, demands and matches, projects, requests and
  the results converted into their firm; the zone's active supply list and procedure types.
  A firm posts demands, expresses interest in a match and requests assisted handling.
- bank user: nothing (pages 403, API lists empty, objects "not found").
Objects outside a user's scope are "not found" (404), never "forbidden".
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from innopoints.accounts.access import (
    admin_zone_ids,
    enterprise_id_of,
    overseen_zone_ids,
    role_of,
)
from innopoints.accounts.models import Role
from innopoints.enterprises.models import Enterprise
from innopoints.services.models import (
    DemandItem,
    HandlingRequest,
    KeyProject,
    Match,
    ProcedureType,
    ResearchResult,
    ServiceDocument,
    SupplyItem,
    TechContract,
)
from innopoints.zones.models import Zone

STAFF = (Role.ZONE_ADMIN, Role.SUPERVISOR)


def can_view_services(user) -> bool:
    """Zone staff and firms use the services pages; banks do not."""
    return role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR, Role.ENTERPRISE)


def is_staff(user) -> bool:
    """Zone admins and supervisors (zone-wide reads)."""
    return role_of(user) in STAFF


def can_manage_zone(user, zone_id: int) -> bool:
    """Zone admins write the registries of their zones."""
    return zone_id in admin_zone_ids(user)


def managed_zones(user) -> QuerySet[Zone]:
    """Zones whose registries the user may change."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


def visible_zones(user) -> QuerySet[Zone]:
    """Zones whose statistics the user may read (admins and supervisors)."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


def own_firm(user) -> Enterprise | None:
    """The enterprise user's firm."""
    pk = enterprise_id_of(user)
    return Enterprise.objects.select_related("zone").filter(pk=pk).first() if pk else None


def _firm_zone_ids(user) -> list[int]:
    firm = own_firm(user)
    return [firm.zone_id] if firm else []


def _get(queryset: QuerySet, pk: int, what: str):
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404(f"{what} not found")
    return obj


def zone_firms(user, zone_id: int) -> QuerySet[Enterprise]:
    """Firms of a zone the user administers (for pickers and parties)."""
    if zone_id not in admin_zone_ids(user):
        return Enterprise.objects.none()
    return Enterprise.objects.filter(zone_id=zone_id)


# ---------------------------------------------------------------------------- contracts


def visible_contracts(user) -> QuerySet[TechContract]:
    """Contracts of the user's zones (staff) or with the user's firm as a party."""
    role = role_of(user)
    if role in STAFF:
        return TechContract.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        pk = enterprise_id_of(user)
        return TechContract.objects.filter(Q(seller_id=pk) | Q(buyer_id=pk))
    return TechContract.objects.none()


def get_contract(user, pk: int) -> TechContract:
    return _get(visible_contracts(user).select_related("zone"), pk, "contract")


# ---------------------------------------------------------------------------- matching


def visible_supply(user) -> QuerySet[SupplyItem]:
    """The supply lists of the user's zones (staff) or the firm's zone (active items)."""
    role = role_of(user)
    if role in STAFF:
        return SupplyItem.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return SupplyItem.objects.filter(zone_id__in=_firm_zone_ids(user), active=True)
    return SupplyItem.objects.none()


def get_supply(user, pk: int) -> SupplyItem:
    return _get(visible_supply(user), pk, "supply item")


def visible_demands(user) -> QuerySet[DemandItem]:
    """Demands of the user's zones (staff) or of the user's own firm."""
    role = role_of(user)
    if role in STAFF:
        return DemandItem.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return DemandItem.objects.filter(enterprise_id=enterprise_id_of(user))
    return DemandItem.objects.none()


def get_demand(user, pk: int) -> DemandItem:
    return _get(visible_demands(user).select_related("enterprise", "zone"), pk, "demand")


def can_edit_demand(user, demand: DemandItem) -> bool:
    """The firm that posted it, or an admin of its zone."""
    return demand.enterprise_id == enterprise_id_of(user) or demand.zone_id in admin_zone_ids(user)


def visible_matches(user) -> QuerySet[Match]:
    """Matches of the demands the user may read."""
    return Match.objects.filter(demand__in=visible_demands(user))


def get_match(user, pk: int) -> Match:
    return _get(visible_matches(user).select_related("demand", "supply"), pk, "match")


# ---------------------------------------------------------------------------- results


def visible_results(user) -> QuerySet[ResearchResult]:
    """Results of the user's zones (staff) or converted into the user's firm."""
    role = role_of(user)
    if role in STAFF:
        return ResearchResult.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return ResearchResult.objects.filter(
            conversions__enterprise_id=enterprise_id_of(user)
        ).distinct()
    return ResearchResult.objects.none()


def get_result(user, pk: int) -> ResearchResult:
    return _get(visible_results(user).select_related("zone"), pk, "result")


# ---------------------------------------------------------------------------- projects


def visible_projects(user) -> QuerySet[KeyProject]:
    """Key projects of the user's zones (staff) or owned by the user's firm."""
    role = role_of(user)
    if role in STAFF:
        return KeyProject.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return KeyProject.objects.filter(enterprise_id=enterprise_id_of(user))
    return KeyProject.objects.none()


def get_project(user, pk: int) -> KeyProject:
    return _get(visible_projects(user).select_related("enterprise", "zone"), pk, "project")


# ---------------------------------------------------------------------------- 帮代办


def visible_procedures(user) -> QuerySet[ProcedureType]:
    """Procedure types of the user's zones (staff) or the firm's zone."""
    role = role_of(user)
    if role in STAFF:
        return ProcedureType.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return ProcedureType.objects.filter(zone_id__in=_firm_zone_ids(user))
    return ProcedureType.objects.none()


def visible_requests(user) -> QuerySet[HandlingRequest]:
    """Requests of the user's zones (staff) or of the user's own firm."""
    role = role_of(user)
    if role in STAFF:
        return HandlingRequest.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return HandlingRequest.objects.filter(enterprise_id=enterprise_id_of(user))
    return HandlingRequest.objects.none()


def get_request(user, pk: int) -> HandlingRequest:
    return _get(
        visible_requests(user).select_related("enterprise", "procedure", "official"),
        pk,
        "request",
    )


def visible_documents(user) -> QuerySet[ServiceDocument]:
    """Documents of the results and requests the user may read."""
    return ServiceDocument.objects.filter(
        Q(result__in=visible_results(user)) | Q(request__in=visible_requests(user))
    )


def get_document(user, pk: int) -> ServiceDocument:
    return _get(visible_documents(user), pk, "document")
