"""Who sees and manages scoring. Views and the API read scoring data only through here.

- zone admin: every model version, activation, run, score and external score of the
  zones they administer; may upload, activate, run and import.
- supervisor: the same of the zones they oversee, read-only.
- enterprise and bank users: nothing yet (their portrait is a later capability): pages
  answer 403, API lists are empty and objects are "not found".
Objects of a zone outside the user's scope are "not found", never "forbidden".
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from innopoints.accounts.access import admin_zone_ids, overseen_zone_ids, role_of
from innopoints.accounts.models import Role
from innopoints.scoring.models import (
    ExternalScore,
    FirmScore,
    ModelActivation,
    ModelVersion,
    ScoringRun,
)
from innopoints.zones.models import Zone


def can_view_scoring(user) -> bool:
    """Zone admins and supervisors use the scoring pages."""
    return role_of(user) in (Role.ZONE_ADMIN, Role.SUPERVISOR)


def can_manage_scoring(user, zone: Zone) -> bool:
    """Zone admins manage the scoring of their zones."""
    return zone.id in admin_zone_ids(user)


def visible_zones(user) -> QuerySet[Zone]:
    """Zones whose scoring the user may read."""
    return Zone.objects.filter(id__in=overseen_zone_ids(user))


def managed_zones(user) -> QuerySet[Zone]:
    """Zones whose scoring the user may change."""
    return Zone.objects.filter(id__in=admin_zone_ids(user))


def get_managed_zone(user, zone_id: int | str) -> Zone:
    """A zone the user manages, or 404."""
    zone = managed_zones(user).filter(pk=zone_id).first() if str(zone_id).isdigit() else None
    if zone is None:
        raise Http404("zone not found")
    return zone


def visible_model_versions(user) -> QuerySet[ModelVersion]:
    """Model versions of the zones the user may read."""
    return ModelVersion.objects.filter(zone_id__in=overseen_zone_ids(user))


def get_visible_model_version(user, pk: int) -> ModelVersion:
    """One model version the user may read, or 404."""
    version = visible_model_versions(user).select_related("zone").filter(pk=pk).first()
    if version is None:
        raise Http404("model version not found")
    return version


def visible_activations(user) -> QuerySet[ModelActivation]:
    """Activations of the zones the user may read."""
    return ModelActivation.objects.filter(zone_id__in=overseen_zone_ids(user))


def visible_runs(user) -> QuerySet[ScoringRun]:
    """Scoring runs of the zones the user may read."""
    return ScoringRun.objects.filter(zone_id__in=overseen_zone_ids(user))


def get_visible_run(user, pk: int) -> ScoringRun:
    """One run the user may read, or 404."""
    run = visible_runs(user).select_related("zone", "model_version").filter(pk=pk).first()
    if run is None:
        raise Http404("run not found")
    return run


def visible_firm_scores(user, run: ScoringRun) -> QuerySet[FirmScore]:
    """The stored scores of a run the user may read (empty otherwise)."""
    if run.zone_id not in overseen_zone_ids(user):
        return FirmScore.objects.none()
    return FirmScore.objects.filter(run=run)


def visible_external_scores(user) -> QuerySet[ExternalScore]:
    """External scores of the zones the user may read."""
    return ExternalScore.objects.filter(zone_id__in=overseen_zone_ids(user))
