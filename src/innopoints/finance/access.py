"""Who sees what in finance. Pages, the API and exports read only through here.

- A bank user sees a firm's data only under a valid consent (to its bank, or to every
  partner bank of the firm's zone when its bank partners with that zone) or an
  application the firm sent its bank (`bank_may_see`); every such read is audited by the
  caller through `enterprises.access.note_read` (or `note_reads` for lists).
- enterprise user: its own consents, loans, IP, pledges, shortlistings and read log;
  the products of its zone's partner banks.
- zone admin / supervisor: every consent, loan, pool, IP item and pledge of their zones,
  the products of their zones' partner banks; admins manage risk pools.
- bank user: its bank's products (which it manages), loans, pledges; the risk pools of its
  partner zones.
Objects outside the user's scope are "not found".
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from innopoints.accounts.access import (
    admin_zone_ids,
    bank_id_of,
    enterprise_id_of,
    overseen_zone_ids,
    role_of,
)
from innopoints.accounts.models import Role
from innopoints.audit.models import AuditEvent
from innopoints.enterprises.models import Enterprise
from innopoints.finance.models import (
    Branch,
    Consent,
    IPItem,
    LicenceBack,
    Loan,
    LoanProduct,
    Pledge,
    RiskPool,
    Shortlisting,
)
from innopoints.zones.models import Bank, Partnership, Zone

READ_ACTIONS = ("enterprise.read",)


def today() -> dt.date:
    """Today in the project's time zone."""
    return timezone.localdate()


def partner_zone_ids(bank_id: int | None) -> list[int]:
    """Zones the bank partners with."""
    if bank_id is None:
        return []
    return list(Partnership.objects.filter(bank_id=bank_id).values_list("zone_id", flat=True))


def valid_consents(on: dt.date | None = None) -> QuerySet[Consent]:
    """Consents in force on `on` (today by default)."""
    on = on or today()
    return Consent.objects.filter(revoked_at__isnull=True, valid_from__lte=on, valid_until__gte=on)


def consented_enterprise_ids(bank_id: int | None, on: dt.date | None = None) -> QuerySet:
    """Ids of the firms whose valid consent covers the bank."""
    if bank_id is None:
        return Consent.objects.none().values("enterprise_id")
    return (
        valid_consents(on)
        .filter(
            Q(bank_id=bank_id)
            | Q(bank__isnull=True, enterprise__zone_id__in=partner_zone_ids(bank_id))
        )
        .values("enterprise_id")
    )


def applied_enterprise_ids(bank_id: int | None) -> QuerySet:
    """Ids of the firms that sent the bank an application (not withdrawn)."""
    return (
        Loan.objects.filter(bank_id=bank_id)
        .exclude(status=Loan.Status.WITHDRAWN)
        .values("enterprise_id")
    )


def bank_enterprises(user) -> QuerySet[Enterprise]:
    """The firms a bank user may read: valid consent or an application to its bank."""
    bank_id = bank_id_of(user)
    if bank_id is None:
        return Enterprise.objects.none()
    return Enterprise.objects.filter(
        Q(pk__in=consented_enterprise_ids(bank_id)) | Q(pk__in=applied_enterprise_ids(bank_id))
    )


def bank_may_see(user, enterprise: Enterprise) -> bool:
    """Whether a bank user may read this firm's data now."""
    return bank_enterprises(user).filter(pk=enterprise.pk).exists()


def consenting_enterprises(user) -> QuerySet[Enterprise]:
    """Firms with a valid consent covering the user's bank (the shortlist's population)."""
    return Enterprise.objects.filter(pk__in=consented_enterprise_ids(bank_id_of(user)))


# ---------------------------------------------------------------------------- consents


def visible_consents(user) -> QuerySet[Consent]:
    """A firm's own consents; the consents of an admin's or supervisor's zones; a bank's
    consents that name it or all partner banks of its zones."""
    role = role_of(user)
    qs = Consent.objects.select_related("enterprise", "bank", "granted_by")
    if role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=enterprise_id_of(user))
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return qs.filter(enterprise__zone_id__in=overseen_zone_ids(user))
    if role == Role.BANK:
        bank_id = bank_id_of(user)
        return qs.filter(
            Q(bank_id=bank_id)
            | Q(bank__isnull=True, enterprise__zone_id__in=partner_zone_ids(bank_id))
        )
    return qs.none()


def consent_counts(user) -> list[dict]:
    """Firms with a consent in force, per bank ('' = all partner banks), in the zones an
    admin or supervisor oversees."""
    from django.db.models import Count

    if role_of(user) not in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return []
    return list(
        valid_consents()
        .filter(enterprise__zone_id__in=overseen_zone_ids(user))
        .values("bank__name")
        .annotate(firms=Count("enterprise", distinct=True))
        .order_by("-firms", "bank__name")
    )


def get_visible_consent(user, pk: int) -> Consent:
    """One consent the user may read, or 404."""
    consent = visible_consents(user).filter(pk=pk).first()
    if consent is None:
        raise Http404("consent not found")
    return consent


def can_manage_consents(user, enterprise: Enterprise | None) -> bool:
    """Only the firm itself grants and revokes its consents."""
    return enterprise is not None and enterprise_id_of(user) == enterprise.pk


def banks_for_consent(enterprise: Enterprise) -> QuerySet[Bank]:
    """The banks a firm may grant access to: the partner banks of its zone."""
    return Bank.objects.filter(partnership__zone_id=enterprise.zone_id).distinct()


def reads_of(enterprise: Enterprise) -> QuerySet[AuditEvent]:
    """The audit trail's records of bank reads of a firm's data (the firm's read log)."""
    return AuditEvent.objects.filter(
        action__in=READ_ACTIONS,
        object_type="enterprises.enterprise",
        object_id=str(enterprise.pk),
    ).order_by("-at", "-id")


def own_enterprise(user) -> Enterprise | None:
    """An enterprise user's firm."""
    eid = enterprise_id_of(user)
    return Enterprise.objects.select_related("zone").filter(pk=eid).first() if eid else None


# ---------------------------------------------------------------------------- products


def visible_products(user) -> QuerySet[LoanProduct]:
    """A bank's own products; the partner banks' products for firms, admins, supervisors."""
    role = role_of(user)
    qs = LoanProduct.objects.select_related("bank")
    if role == Role.BANK:
        return qs.filter(bank_id=bank_id_of(user))
    if role == Role.ENTERPRISE:
        firm = own_enterprise(user)
        zone_ids = [firm.zone_id] if firm else []
    elif role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        zone_ids = list(overseen_zone_ids(user))
    else:
        return qs.none()
    banks = Partnership.objects.filter(zone_id__in=zone_ids).values("bank_id")
    return qs.filter(bank_id__in=banks)


def get_visible_product(user, pk: int) -> LoanProduct:
    """One product the user may read, or 404."""
    product = visible_products(user).filter(pk=pk).first()
    if product is None:
        raise Http404("product not found")
    return product


def can_manage_product(user, product: LoanProduct | None = None) -> bool:
    """Bank users manage their own bank's products."""
    bank_id = bank_id_of(user)
    if bank_id is None:
        return False
    return product is None or product.bank_id == bank_id


def can_shortlist(user, product: LoanProduct) -> bool:
    """Only the product's bank browses its shortlist."""
    return bank_id_of(user) is not None and product.bank_id == bank_id_of(user)


def shortlistings_of(enterprise: Enterprise) -> QuerySet[Shortlisting]:
    """Where the firm was shortlisted (shown to the firm)."""
    return Shortlisting.objects.filter(enterprise=enterprise).select_related("product__bank")


def product_zones(product: LoanProduct, user=None) -> QuerySet[Zone]:
    """The zones a product serves: its bank's partner zones (within an admin's scope)."""
    zones = Zone.objects.filter(id__in=partner_zone_ids(product.bank_id))
    if user is not None and role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        zones = zones.filter(id__in=overseen_zone_ids(user))
    return zones


# ---------------------------------------------------------------------------- loans


def visible_loans(user) -> QuerySet[Loan]:
    """A firm's own loans, a bank's loans, the loans of an admin's or supervisor's zones."""
    role = role_of(user)
    qs = Loan.objects.select_related("enterprise", "bank", "product", "zone")
    if role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=enterprise_id_of(user))
    if role == Role.BANK:
        return qs.filter(bank_id=bank_id_of(user))
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return qs.filter(zone_id__in=overseen_zone_ids(user))
    return qs.none()


def get_visible_loan(user, pk: int) -> Loan:
    """One loan the user may read, or 404."""
    loan = visible_loans(user).filter(pk=pk).first()
    if loan is None:
        raise Http404("loan not found")
    return loan


def can_apply(user, product: LoanProduct) -> bool:
    """A firm applies for the products of its zone's partner banks."""
    return (
        role_of(user) == Role.ENTERPRISE and visible_products(user).filter(pk=product.pk).exists()
    )


def can_withdraw_loan(user, loan: Loan) -> bool:
    """The firm withdraws its own application."""
    return enterprise_id_of(user) == loan.enterprise_id


def can_handle_loan(user, loan: Loan) -> bool:
    """The lending bank reviews, decides, disburses and records repayments and defaults."""
    return bank_id_of(user) is not None and bank_id_of(user) == loan.bank_id


def stats_zones(user) -> QuerySet[Zone]:
    """Zones whose finance statistics the user reads (admins and supervisors)."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


# ---------------------------------------------------------------------------- risk pools


def visible_risk_pools(user) -> QuerySet[RiskPool]:
    """Pools of an admin's or supervisor's zones; of a bank's partner zones."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return RiskPool.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.BANK:
        return RiskPool.objects.filter(zone_id__in=partner_zone_ids(bank_id_of(user)))
    return RiskPool.objects.none()


def get_visible_risk_pool(user, pk: int) -> RiskPool:
    """One pool the user may read, or 404."""
    pool = visible_risk_pools(user).select_related("zone").filter(pk=pk).first()
    if pool is None:
        raise Http404("risk pool not found")
    return pool


def can_manage_risk_pools(user, zone: Zone) -> bool:
    """Zone admins set up their zone's pools."""
    return zone.id in admin_zone_ids(user)


def admin_zones(user) -> QuerySet[Zone]:
    """Zones the user administers."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


# ---------------------------------------------------------------------------- IP


def visible_ip_items(user) -> QuerySet[IPItem]:
    """A firm's own items; the items of an admin's or supervisor's zones; for a bank, the
    items of the firms it may read."""
    role = role_of(user)
    qs = IPItem.objects.select_related("enterprise")
    if role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=enterprise_id_of(user))
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return qs.filter(enterprise__zone_id__in=overseen_zone_ids(user))
    if role == Role.BANK:
        return qs.filter(enterprise__in=bank_enterprises(user))
    return qs.none()


def get_visible_ip_item(user, pk: int) -> IPItem:
    """One IP item the user may read, or 404."""
    item = visible_ip_items(user).filter(pk=pk).first()
    if item is None:
        raise Http404("IP item not found")
    return item


def can_register_ip(user, enterprise: Enterprise) -> bool:
    """The firm itself or its zone's admin records IP items."""
    return enterprise_id_of(user) == enterprise.pk or enterprise.zone_id in admin_zone_ids(user)


def can_value_ip(user, item: IPItem) -> bool:
    """The firm, its zone's admin (appraiser reports) or a bank that may read the firm."""
    if role_of(user) == Role.BANK:
        return bank_may_see(user, item.enterprise)
    return can_register_ip(user, item.enterprise)


def visible_pledges(user) -> QuerySet[Pledge]:
    """A firm's pledges, a bank's (as pledgee), an admin's or supervisor's zones'."""
    role = role_of(user)
    qs = Pledge.objects.select_related("enterprise", "bank", "product")
    if role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=enterprise_id_of(user))
    if role == Role.BANK:
        return qs.filter(bank_id=bank_id_of(user))
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return qs.filter(zone_id__in=overseen_zone_ids(user))
    return qs.none()


def get_visible_pledge(user, pk: int) -> Pledge:
    """One pledge the user may read, or 404."""
    pledge = visible_pledges(user).filter(pk=pk).first()
    if pledge is None:
        raise Http404("pledge not found")
    return pledge


def can_register_pledge(user, product: LoanProduct) -> bool:
    """The pledgee bank registers pledges under its IP-pledge products."""
    return can_manage_product(user, product) and product.kind == LoanProduct.Kind.IP_PLEDGE


# ---------------------------------------------------------------------------- licence-back


def visible_licences(user) -> QuerySet[LicenceBack]:
    """A firm's own contracts, a bank's (as financier), an admin's or supervisor's zones'."""
    role = role_of(user)
    qs = LicenceBack.objects.select_related("enterprise", "bank", "zone")
    if role == Role.ENTERPRISE:
        return qs.filter(enterprise_id=enterprise_id_of(user))
    if role == Role.BANK:
        return qs.filter(bank_id=bank_id_of(user))
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return qs.filter(zone_id__in=overseen_zone_ids(user))
    return qs.none()


def get_visible_licence(user, pk: int) -> LicenceBack:
    """One licence-back contract the user may read, or 404."""
    licence = visible_licences(user).filter(pk=pk).first()
    if licence is None:
        raise Http404("licence not found")
    return licence


def can_record_licence(user, enterprise: Enterprise | None = None) -> bool:
    """A bank (for firms it may read) or the firm's zone admin records contracts."""
    role = role_of(user)
    if role == Role.BANK:
        return enterprise is None or bank_may_see(user, enterprise)
    if role == Role.ZONE_ADMIN:
        return enterprise is None or enterprise.zone_id in admin_zone_ids(user)
    return False


def can_handle_licence(user, licence: LicenceBack) -> bool:
    """The financier bank, or the zone admin for other financiers, records payments."""
    if licence.bank_id is not None:
        return bank_id_of(user) == licence.bank_id
    return licence.zone_id in admin_zone_ids(user)


# ---------------------------------------------------------------------------- branches


def visible_branches(user) -> QuerySet[Branch]:
    """A bank user's own bank's branches."""
    return Branch.objects.filter(bank_id=bank_id_of(user)).select_related("zone")


def bank_people(user) -> QuerySet:
    """The users of a bank user's own bank, with their officer record (may be empty)."""
    from django.contrib.auth import get_user_model

    bank_id = bank_id_of(user)
    if bank_id is None:
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(profile__role=Role.BANK, profile__bank_id=bank_id)
        .select_related("bank_officer__branch")
        .order_by("username")
    )
