"""Portrait API: one firm-year's portrait as JSON (the same content as the page) and data
corrections (list, create, approve, reject). Access as on the pages (`portrait.access`):
other zones' firms and banks get 404, a firm sees and submits only its own corrections,
only the zone's admins review.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.portrait import access
from innopoints.portrait.actions import (
    CorrectionError,
    do_approve_correction,
    do_reject_correction,
    do_submit_correction,
)
from innopoints.portrait.models import Correction
from innopoints.portrait.results import build_portrait

router = Router(tags=["portrait"])


class PortraitOut(Schema):
    uscc: str
    year: int
    lang: str
    generated_at: str
    scored: bool
    identity: dict[str, Any]
    score: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    classes: list[dict[str, Any]] = []
    indicators: list[dict[str, Any]] = []
    extras: list[dict[str, Any]] = []
    trends: dict[str, Any]
    guidance: dict[str, Any] | None = None
    sources: list[dict[str, Any]]
    corrections: list[dict[str, Any]]


class CorrectionOut(Schema):
    id: int
    uscc: str
    year: int
    field: str
    old_value: Any = None
    new_value: Any = None
    note: str
    status: str
    submitted_at: dt.datetime
    reviewed_at: dt.datetime | None
    reason: str
    import_batch_id: int | None
    run_id: int | None

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc


class CorrectionIn(Schema):
    uscc: str
    year: int
    field: str
    value: Any = None
    note: str = ""


class RejectIn(Schema):
    reason: str


def _lang(request: HttpRequest, lang: str | None) -> str:
    if lang in ("zh", "en"):
        return lang
    return "en" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en") else "zh"


@router.get("/corrections", response=list[CorrectionOut])
@paginate(LimitOffsetPagination)
def list_corrections(request: HttpRequest, status: str | None = None, uscc: str | None = None):
    """Corrections in the caller's scope, newest first (filter by status and USCC)."""
    rows = access.visible_corrections(request.user).select_related("enterprise")
    if status:
        rows = rows.filter(status=status)
    if uscc:
        rows = rows.filter(enterprise__uscc=uscc.upper())
    return rows


@router.post("/corrections", response={201: CorrectionOut})
def create_correction(request: HttpRequest, payload: CorrectionIn):
    """The firm submits a correction of one yearly field (403 for other roles)."""
    enterprise = access.get_portrait_enterprise(request.user, payload.uscc)
    if not access.can_submit_correction(request.user, enterprise):
        raise HttpError(403, "only the enterprise itself submits corrections")
    try:
        correction = do_submit_correction(
            request.user, enterprise, payload.year, payload.field, payload.value, payload.note
        )
    except CorrectionError as exc:
        raise HttpError(400, str(exc)) from exc
    return Status(201, correction)


@router.get("/corrections/{int:pk}", response=CorrectionOut)
def get_correction(request: HttpRequest, pk: int):
    """One correction in the caller's scope."""
    return access.get_visible_correction(request.user, pk)


def _reviewable(request: HttpRequest, pk: int) -> Correction:
    correction = access.get_visible_correction(request.user, pk)
    if not access.can_review_correction(request.user, correction):
        raise HttpError(403, "only the zone's admins review corrections")
    return correction


@router.post("/corrections/{int:pk}/approve", response=CorrectionOut)
def approve_correction(request: HttpRequest, pk: int):
    """Approve: apply the value through the import action and re-score the year."""
    try:
        return do_approve_correction(request.user, _reviewable(request, pk))
    except CorrectionError as exc:
        raise HttpError(409, str(exc)) from exc


@router.post("/corrections/{int:pk}/reject", response=CorrectionOut)
def reject_correction(request: HttpRequest, pk: int, payload: RejectIn):
    """Reject with a reason; the data stay as they are."""
    correction = _reviewable(request, pk)
    if correction.status != Correction.Status.SUBMITTED:
        raise HttpError(409, "this correction has already been reviewed")
    try:
        return do_reject_correction(request.user, correction, payload.reason)
    except CorrectionError as exc:
        raise HttpError(400, str(exc)) from exc


@router.get("/{uscc}/{int:year}", response=PortraitOut)
def get_portrait(request: HttpRequest, uscc: str, year: int, lang: str | None = None):
    """One firm-year's portrait: identity, points, ranks, indicators, trends, guidance."""
    if not 2000 <= year <= 2100:
        raise Http404("year out of range")
    enterprise = access.get_portrait_enterprise(request.user, uscc)
    return build_portrait(enterprise, year, _lang(request, lang), request.user)
