"""Who sees and manages policies. Views and the API read policy data only through here.

- zone admin: the catalogue (drafts too), results, batches, applications and statistics
  of the zones they administer; may edit, publish, match, approve and review.
- supervisor: the same of the zones they oversee, read-only.
- enterprise user: published policies of their firm's zone, their own firm's results,
  applications (with attachments), payouts and objections; may apply and object.
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
from innopoints.policies.models import (
    Application,
    ApplicationAttachment,
    Payout,
    PayoutBatch,
    PayoutObjection,
    Policy,
    PolicyMatch,
    PolicyVersion,
)
from innopoints.zones.models import Zone


def can_view_catalogue(user) -> bool:
    """Zone admins and supervisors use the catalogue pages."""
    return role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR)


def can_manage_zone(user, zone: Zone) -> bool:
    """Zone admins change the policies of their zones."""
    return zone.pk in admin_zone_ids(user)


def can_manage_policy(user, policy: Policy) -> bool:
    """Zone admins edit, publish, match and pay the policies of their zones."""
    return policy.zone_id in admin_zone_ids(user)


def managed_zones(user) -> QuerySet[Zone]:
    """Zones whose policies the user may change."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


def _firm_zone_id(user) -> int | None:
    pk = enterprise_id_of(user)
    if pk is None:
        return None
    return Enterprise.objects.filter(pk=pk).values_list("zone_id", flat=True).first()


def visible_policies(user) -> QuerySet[Policy]:
    """Policies the user may read: their zones' (admins, supervisors); the published
    policies of their firm's zone (enterprise users); none otherwise."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return Policy.objects.filter(zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Policy.objects.filter(
            zone_id=_firm_zone_id(user), versions__status=PolicyVersion.Status.PUBLISHED
        ).distinct()
    return Policy.objects.none()


def get_visible_policy(user, pk: int) -> Policy:
    """One policy the user may read, or 404."""
    policy = visible_policies(user).select_related("zone").filter(pk=pk).first()
    if policy is None:
        raise Http404("policy not found")
    return policy


def visible_versions(user, policy: Policy) -> QuerySet[PolicyVersion]:
    """The versions of a policy the user may read (enterprise users: the published one)."""
    qs = policy.versions.all()
    if role_of(user) == Role.ENTERPRISE:
        qs = qs.filter(status=PolicyVersion.Status.PUBLISHED)
    return qs


def get_visible_version(user, pk: int) -> PolicyVersion:
    """One version the user may read, or 404."""
    version = PolicyVersion.objects.select_related("policy__zone").filter(pk=pk).first()
    if (
        version is None
        or not visible_versions(user, version.policy).filter(pk=pk).exists()
        or not visible_policies(user).filter(pk=version.policy_id).exists()
    ):
        raise Http404("version not found")
    return version


def visible_matches(user) -> QuerySet[PolicyMatch]:
    """Stored results the user may read (published versions only for enterprise users)."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return PolicyMatch.objects.filter(policy__zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return PolicyMatch.objects.filter(
            enterprise_id=enterprise_id_of(user), version__status=PolicyVersion.Status.PUBLISHED
        )
    return PolicyMatch.objects.none()


def get_policy_firm(user, uscc: str) -> Enterprise:
    """An enterprise whose policy results the user may read, or 404 (admins and
    supervisors: firms of their zones; an enterprise user: their own firm)."""
    role = role_of(user)
    firms = Enterprise.objects.none()
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        firms = Enterprise.objects.filter(zone_id__in=overseen_zone_ids(user))
    elif role == Role.ENTERPRISE:
        firms = Enterprise.objects.filter(pk=enterprise_id_of(user))
    firm = firms.select_related("zone").filter(uscc=(uscc or "").upper()).first()
    if firm is None:
        raise Http404("enterprise not found")
    return firm


def own_firm(user) -> Enterprise | None:
    """The enterprise user's own firm (None for other roles)."""
    pk = enterprise_id_of(user)
    return Enterprise.objects.select_related("zone").filter(pk=pk).first() if pk else None


def visible_batches(user) -> QuerySet[PayoutBatch]:
    """Payout batches of the zones the user may read (admins and supervisors)."""
    return PayoutBatch.objects.filter(policy__zone_id__in=overseen_zone_ids(user))


def get_visible_batch(user, pk: int) -> PayoutBatch:
    """A payout batch the user may read, or 404; an enterprise user may open an approved
    batch of their zone's policy only to see their own line and object."""
    batch = visible_batches(user).select_related("policy__zone", "version").filter(pk=pk).first()
    if batch is None and role_of(user) == Role.ENTERPRISE:
        batch = (
            PayoutBatch.objects.select_related("policy__zone", "version")
            .filter(pk=pk, policy__zone_id=_firm_zone_id(user), status=PayoutBatch.Status.APPROVED)
            .first()
        )
    if batch is None:
        raise Http404("batch not found")
    return batch


def visible_payouts(user) -> QuerySet[Payout]:
    """Payouts: their zones' (admins, supervisors), their own firm's (enterprise users)."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return Payout.objects.filter(policy__zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Payout.objects.filter(enterprise_id=enterprise_id_of(user))
    return Payout.objects.none()


def visible_applications(user) -> QuerySet[Application]:
    """Applications: their zones' (admins, supervisors), their own firm's (enterprise)."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return Application.objects.filter(policy__zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return Application.objects.filter(enterprise_id=enterprise_id_of(user))
    return Application.objects.none()


def get_visible_application(user, pk: int) -> Application:
    """An application the user may read, or 404."""
    app = (
        visible_applications(user)
        .select_related("policy__zone", "version", "enterprise")
        .filter(pk=pk)
        .first()
    )
    if app is None:
        raise Http404("application not found")
    return app


def can_review_application(user, app: Application) -> bool:
    """Zone admins accept, decide and pay the applications of their zones."""
    return app.policy.zone_id in admin_zone_ids(user)


def can_apply(user, policy: Policy) -> bool:
    """Enterprise users of the policy's zone apply."""
    return role_of(user) == Role.ENTERPRISE and _firm_zone_id(user) == policy.zone_id


def get_visible_attachment(user, pk: int) -> ApplicationAttachment:
    """An attachment of an application the user may read, or 404."""
    attachment = (
        ApplicationAttachment.objects.filter(application__in=visible_applications(user), pk=pk)
        .select_related("application")
        .first()
    )
    if attachment is None:
        raise Http404("attachment not found")
    return attachment


def visible_objections(user) -> QuerySet[PayoutObjection]:
    """Payout objections: their zones' (admins, supervisors), their own (enterprise)."""
    role = role_of(user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return PayoutObjection.objects.filter(batch__policy__zone_id__in=overseen_zone_ids(user))
    if role == Role.ENTERPRISE:
        return PayoutObjection.objects.filter(enterprise_id=enterprise_id_of(user))
    return PayoutObjection.objects.none()


def get_visible_objection(user, pk: int) -> PayoutObjection:
    """A payout objection the user may read, or 404."""
    obj = visible_objections(user).select_related("batch__policy__zone").filter(pk=pk).first()
    if obj is None:
        raise Http404("objection not found")
    return obj
