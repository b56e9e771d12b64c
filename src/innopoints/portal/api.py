"""Portal API: rankings of a zone's year, published rankings and their rows, an
enterprise's own placements, and objections (list, file, resolve).

Every read goes through `portal.access` (and `scoring.access` for live rankings), every
write through `portal.actions`: lists are empty for roles that see nothing, objects
outside the user's scope are 404, refused writes answer 403 and invalid ones 400, both
with `{"detail": ..., "code": ...}`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.db.models import F
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.portal import access
from innopoints.portal.actions import (
    PortalError,
    do_file_objection,
    do_publish_ranking,
    do_resolve_objection,
    overdue_before,
)
from innopoints.portal.models import Objection
from innopoints.portal.rankings import RankingFilters, filter_rows
from innopoints.scoring import access as scoring_access
from innopoints.scoring.api import RankFieldsOut
from innopoints.scoring.models import FirmScore, ScoringRun

router = Router(tags=["portal"])


class ErrorOut(Schema):
    detail: str
    code: str


class RankingRowOut(RankFieldsOut):
    uscc: str
    name: str


class RankingOut(RankingRowOut):
    run: int
    year: int

    @staticmethod
    def resolve_run(obj) -> int:
        return obj.run_id


class PublicationOut(Schema):
    id: int
    zone: str
    year: int
    run: int
    run_hash: str
    snapshot_hash: str
    model_version: str
    firms: int
    objection_days: int
    published_at: dt.datetime
    objection_deadline: dt.datetime
    objections_open: bool
    note: str

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code

    @staticmethod
    def resolve_run(obj) -> int:
        return obj.run_id

    @staticmethod
    def resolve_objections_open(obj) -> bool:
        return timezone.now() <= obj.objection_deadline


class PublishIn(Schema):
    run: int
    objection_days: int | None = None
    note: str = ""


class MyPlacementOut(RankingRowOut):
    publication: PublicationOut
    band_name_zh: str
    band_name_en: str

    @staticmethod
    def resolve_band_name_zh(obj) -> str:
        return obj.publication.band_name(obj.band, "zh") if obj.band else ""

    @staticmethod
    def resolve_band_name_en(obj) -> str:
        return obj.publication.band_name(obj.band, "en") if obj.band else ""


class AttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    url: str

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.original_name

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("portal-attachment", args=[obj.pk])


class ObjectionOut(Schema):
    id: int
    publication: int
    zone: str
    year: int
    uscc: str
    enterprise: str
    reason: str
    status: str
    filed_at: dt.datetime
    overdue: bool
    resolved_at: dt.datetime | None
    resolution_note: str
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_publication(obj) -> int:
        return obj.publication_id

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.publication.zone.code

    @staticmethod
    def resolve_year(obj) -> int:
        return obj.publication.year

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_enterprise(obj) -> str:
        return obj.enterprise.name

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.status == Objection.Status.OPEN and obj.filed_at < overdue_before()

    @staticmethod
    def resolve_attachments(obj) -> list:
        return list(obj.attachments.all())


class ResolveIn(Schema):
    decision: Literal["accept", "reject"]
    note: str


def _error(exc: PortalError) -> Status:
    return Status(403 if exc.code == "forbidden" else 400, {"detail": str(exc), "code": exc.code})


# ---------------------------------------------------------------------------- rankings


@router.get("/rankings", response=list[RankingOut])
@paginate(LimitOffsetPagination)
def list_rankings(
    request: HttpRequest,
    zone: str = "",
    year: int | None = None,
    run: int | None = None,
    scope: str = "zone",
    stage: str = "",
    section: str = "",
    band: str = "",
    q: str = "",
    sort: str = "rank",
):
    """The ranking of a zone's year from its latest finished run (or `run`), by zone,
    stage or industry; filters as on the page. Empty for enterprise and bank users."""
    zones = access.dashboard_zones(request.user)
    chosen = zones.filter(code=zone).first() if zone else zones.first()
    if chosen is None:
        return FirmScore.objects.none()
    runs = scoring_access.visible_runs(request.user).filter(
        zone=chosen, status=ScoringRun.Status.DONE
    )
    if run is not None:
        runs = runs.filter(pk=run)
    if year is not None:
        runs = runs.filter(year=year)
    else:
        latest_year = runs.order_by("-year").values_list("year", flat=True).first()
        runs = runs.filter(year=latest_year)
    picked = runs.order_by("-finished_at", "-id").first()
    if picked is None:
        return FirmScore.objects.none()
    filters = RankingFilters.from_query(
        {"scope": scope, "stage": stage, "section": section, "band": band, "q": q, "sort": sort}
    )
    rows = scoring_access.visible_firm_scores(request.user, picked).annotate(
        uscc=F("enterprise__uscc"), name=F("enterprise__name")
    )
    return filter_rows(rows, filters)


# ---------------------------------------------------------------------------- publications


@router.get("/publications", response=list[PublicationOut])
@paginate(LimitOffsetPagination)
def list_publications(request: HttpRequest, year: int | None = None, zone: str = ""):
    """Published rankings the user may read, newest first (an enterprise user: those
    listing its firm)."""
    publications = access.visible_publications(request.user).select_related("zone")
    if year:
        publications = publications.filter(year=year)
    if zone:
        publications = publications.filter(zone__code=zone)
    return publications.order_by("-published_at", "-id")


@router.post(
    "/publications",
    response={201: PublicationOut, 400: ErrorOut, 403: ErrorOut},
)
def create_publication(request: HttpRequest, payload: PublishIn):
    """Publish a finished run's ranking with an objection period (zone admins)."""
    run = scoring_access.get_visible_run(request.user, payload.run)
    try:
        publication = do_publish_ranking(
            request.user, run, objection_days=payload.objection_days, note=payload.note
        )
    except PortalError as exc:
        return _error(exc)
    return Status(201, publication)


@router.get("/publications/{publication_id}", response=PublicationOut)
def get_publication(request: HttpRequest, publication_id: int):
    """One published ranking (404 outside the user's scope)."""
    return access.get_visible_publication(request.user, publication_id)


@router.get("/publications/{publication_id}/placements", response=list[RankingRowOut])
@paginate(LimitOffsetPagination)
def list_placements(
    request: HttpRequest,
    publication_id: int,
    scope: str = "zone",
    stage: str = "",
    section: str = "",
    band: str = "",
    q: str = "",
    sort: str = "rank",
):
    """The frozen rows of a published ranking (an enterprise user: its own row only)."""
    publication = access.get_visible_publication(request.user, publication_id)
    filters = RankingFilters.from_query(
        {"scope": scope, "stage": stage, "section": section, "band": band, "q": q, "sort": sort}
    )
    return filter_rows(access.visible_placements(request.user, publication), filters)


@router.get("/my-placements", response=list[MyPlacementOut])
def my_placements(request: HttpRequest):
    """An enterprise user's rows in the published rankings, newest first (empty for
    other roles)."""
    return list(
        access.own_placements(request.user)
        .select_related("publication", "publication__zone")
        .order_by("-publication__published_at", "-publication_id")
    )


# ---------------------------------------------------------------------------- objections


def _objections(request: HttpRequest):
    return access.visible_objections(request.user).select_related(
        "publication", "publication__zone", "enterprise"
    )


@router.get("/objections", response=list[ObjectionOut])
@paginate(LimitOffsetPagination)
def list_objections(
    request: HttpRequest,
    status: str = "",
    year: int | None = None,
    overdue: bool = False,
):
    """Objections the user may read (admins: their zones'; an enterprise: its own)."""
    objections = _objections(request).prefetch_related("attachments")
    if status:
        objections = objections.filter(status=status)
    if year:
        objections = objections.filter(publication__year=year)
    if overdue:
        objections = objections.filter(status=Objection.Status.OPEN, filed_at__lt=overdue_before())
    return objections.order_by("-filed_at", "-id")


@router.get("/objections/{objection_id}", response=ObjectionOut)
def get_objection(request: HttpRequest, objection_id: int):
    """One objection (404 outside the user's scope)."""
    return access.get_visible_objection(request.user, objection_id)


@router.post("/objections", response={201: ObjectionOut, 400: ErrorOut, 403: ErrorOut})
def create_objection(
    request: HttpRequest,
    publication: Form[int],
    reason: Form[str],
    files: File[list[UploadedFile]] = None,
):
    """File an objection with a reason and attachments (multipart; enterprise users,
    before the deadline; pdf/jpg/png/xlsx, each ≤ 5 MB)."""
    if not access.is_enterprise(request.user):
        return Status(403, {"detail": "only enterprise users file objections", "code": "forbidden"})
    target = access.get_visible_publication(request.user, publication)
    try:
        objection = do_file_objection(request.user, target, reason, files or [])
    except PortalError as exc:
        return _error(exc)
    return Status(201, access.get_visible_objection(request.user, objection.pk))


@router.post(
    "/objections/{objection_id}/resolve",
    response={200: ObjectionOut, 400: ErrorOut, 403: ErrorOut},
)
def resolve_objection(request: HttpRequest, objection_id: int, payload: ResolveIn):
    """Accept (with a note) or reject (with a reason) an objection (the zone's admins)."""
    objection = access.get_visible_objection(request.user, objection_id)
    try:
        do_resolve_objection(
            request.user, objection, accept=payload.decision == "accept", note=payload.note
        )
    except PortalError as exc:
        return _error(exc)
    return Status(200, access.get_visible_objection(request.user, objection.pk))
