"""Who sees which portraits and corrections. Pages, the PDF and the API read only through here.

- zone admin and supervisor: the portrait of any firm of the zones they oversee; admins
  review the corrections of their zones, supervisors read them.
- enterprise user: only its own firm's portrait and corrections; it submits corrections.
- bank user: the portraits of the firms that gave its bank a valid consent or sent it an
  application (`bank_may_view`, deciding through `innopoints.finance.access`); every
  such read is audited by `enterprises.access.get_visible_enterprise`.
A firm outside the user's scope is "not found", never "forbidden".
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from innopoints.accounts.access import admin_zone_ids, enterprise_id_of, overseen_zone_ids, role_of
from innopoints.accounts.models import Role
from innopoints.enterprises.access import get_visible_enterprise
from innopoints.portrait.models import Correction


def bank_may_view(user, enterprise=None) -> bool:
    """Whether a bank user may open the portrait of `enterprise`: a valid consent or an
    application the firm sent the user's bank. Without a firm: False (banks have no
    portrait search; they open firms from their shortlists and applications)."""
    if role_of(user) != Role.BANK or enterprise is None:
        return False
    from innopoints.finance.access import bank_may_see

    return bank_may_see(user, enterprise)


def can_view_portraits(user) -> bool:
    """Whether the user's role has portraits at all."""
    role = role_of(user)
    if role == Role.BANK:
        return bank_may_view(user)
    return role in (Role.ZONE_ADMIN, Role.SUPERVISOR, Role.ENTERPRISE)


def get_portrait_enterprise(user, uscc: str):
    """The enterprise whose portrait the user may see, or 404 (bank reads are audited)."""
    # a bank: consent or an application, checked (and the read audited) by the registry access
    if role_of(user) != Role.BANK and not can_view_portraits(user):
        raise Http404("enterprise not found")
    return get_visible_enterprise(user, uscc)


def own_enterprise_id(user) -> int | None:
    """The enterprise of an enterprise user (None for other roles)."""
    return enterprise_id_of(user)


def visible_corrections(user) -> QuerySet[Correction]:
    """Corrections the user may read: the zones' for admins and supervisors, its own for a firm."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return Correction.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Correction.objects.filter(enterprise_id=enterprise_id_of(user))
    return Correction.objects.none()


def get_visible_correction(user, pk: int) -> Correction:
    """One correction the user may read, or 404."""
    correction = (
        visible_corrections(user).select_related("enterprise", "zone").filter(pk=pk).first()
    )
    if correction is None:
        raise Http404("correction not found")
    return correction


def can_submit_correction(user, enterprise) -> bool:
    """Only the firm itself submits corrections to its data."""
    return enterprise is not None and enterprise_id_of(user) == enterprise.pk


def can_review_correction(user, correction: Correction) -> bool:
    """Admins of the correction's zone approve or reject it."""
    return correction.zone_id in admin_zone_ids(user)
