"""Policies API: the catalogue, a policy's results, a firm's matches (我的政策),
applications (submit with attachments, review steps), payout batches and payouts.
Every read goes through `policies.access`: admins and supervisors see their zones, an
enterprise user their zone's published policies and their own firm's data, bank users
nothing; objects of other zones are 404."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.policies import access
from innopoints.policies.actions import (
    PolicyError,
    do_accept_application,
    do_approve_application,
    do_approve_batch,
    do_match_policies,
    do_pay_application,
    do_propose_batch,
    do_reject_application,
    do_submit_application,
    ensure_fresh,
)
from innopoints.policies.models import PolicyMatch, PolicyVersion

router = Router(tags=["policies"])


class ErrorOut(Schema):
    detail: str
    code: str


def _error(exc: PolicyError) -> Status:
    status = {"conflict": 409, "not_allowed": 403}.get(exc.code, 400)
    return Status(status, {"detail": str(exc), "code": exc.code})


def _forbidden(detail: str) -> Status:
    return Status(403, {"detail": detail, "code": "forbidden"})


class VersionOut(Schema):
    id: int
    number: int
    status: str
    title_zh: str
    title_en: str
    department: str
    document_number: str
    document_url: str
    beneficiaries: str
    mode: str
    rule: Any
    amount: Any
    budget: float | None
    effective_from: dt.date
    effective_until: dt.date | None
    required_documents: list[str]
    deadline_working_days: int
    address: str
    phone: str
    content_hash: str
    published_at: dt.datetime | None


class PolicyOut(Schema):
    id: int
    zone: str
    code: str
    version: VersionOut | None

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code

    @staticmethod
    def resolve_version(obj) -> Any:
        return obj.published() or obj.versions.order_by("-number").first()


class PolicyDetailOut(PolicyOut):
    versions: list[VersionOut]

    @staticmethod
    def resolve_versions(obj) -> list:
        return obj.versions_list


class MatchOut(Schema):
    policy_id: int
    policy: str
    version: int
    title: str
    uscc: str
    name: str
    year: int
    status: str
    amount: float | None
    amount_min: float | None
    amount_max: float | None
    reasons: str
    missing: str
    near_miss: str
    near_miss_blocked: bool | None
    data_version: int
    run_id: int | None
    computed_at: dt.datetime


def _lang(request: HttpRequest) -> str:
    return "en" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en") else "zh"


def _match(m: PolicyMatch, lang: str) -> dict[str, Any]:
    return {
        "policy_id": m.policy_id,
        "policy": m.policy.code,
        "version": m.version.number,
        "title": m.version.title(lang),
        "uscc": m.enterprise.uscc,
        "name": m.enterprise.name,
        "year": m.year,
        "status": m.status,
        "amount": m.amount,
        "amount_min": m.amount_min,
        "amount_max": m.amount_max,
        "reasons": m.reasons_in(lang),
        "missing": m.missing,
        "near_miss": m.near_miss_in(lang),
        "near_miss_blocked": m.near_miss_blocked,
        "data_version": m.data_version,
        "run_id": m.run_id,
        "computed_at": m.computed_at,
    }


class FirmMatchesOut(Schema):
    uscc: str
    name: str
    year: int | None
    computed_at: dt.datetime | None
    eligible: list[MatchOut]
    near_misses: list[MatchOut]
    unknown: list[MatchOut]
    total_amount: float


class ApplicationOut(Schema):
    id: int
    policy: str
    version: int
    uscc: str
    period: str
    status: str
    prefill: dict[str, Any]
    amount_requested: float | None
    amount_approved: float | None
    reject_reason: str
    submitted_at: dt.datetime
    accepted_at: dt.datetime | None
    decided_at: dt.datetime | None
    paid_at: dt.datetime | None
    due_on: dt.date | None
    payout_due_on: dt.date | None
    deadline_error: str
    attachments: list[str]

    @staticmethod
    def resolve_policy(obj) -> str:
        return obj.policy.code

    @staticmethod
    def resolve_version(obj) -> int:
        return obj.version.number

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_attachments(obj) -> list[str]:
        return [a.original_name for a in obj.attachments.all()]


class PayoutOut(Schema):
    id: int
    policy: str
    uscc: str
    period: str
    amount: float
    status: str
    batch_id: int | None
    application_id: int | None
    objection_deadline: dt.date | None
    created_at: dt.datetime
    paid_at: dt.datetime | None

    @staticmethod
    def resolve_policy(obj) -> str:
        return obj.policy.code

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc


class LineOut(Schema):
    uscc: str
    rank: int
    points: float | None
    requested: float
    amount: float

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc


class BatchOut(Schema):
    id: int
    policy: str
    version: int
    period: str
    year: int
    status: str
    shortfall_rule: str
    budget: float | None
    requested: float
    total: float
    firms: int
    objection_days: int
    objection_deadline: dt.date | None
    lines: list[LineOut]

    @staticmethod
    def resolve_policy(obj) -> str:
        return obj.policy.code

    @staticmethod
    def resolve_version(obj) -> int:
        return obj.version.number

    @staticmethod
    def resolve_lines(obj) -> list:
        return list(obj.lines.select_related("enterprise"))


class BatchIn(Schema):
    period: str
    shortfall_rule: Literal["pro_rata", "by_rank"] = "pro_rata"
    objection_days: int = 5


class DecisionIn(Schema):
    amount: float | None = None
    reason: str = ""


class MatchRunOut(Schema):
    id: int
    year: int
    policies: int
    firms: int
    counts: dict[str, int]
    new_matches: int
    seconds: float


# ---------------------------------------------------------------------------- catalogue


@router.get("/policies", response=list[PolicyOut])
@paginate(LimitOffsetPagination)
def list_policies(request: HttpRequest):
    """Policies the caller may read (enterprise users: their zone's published ones)."""
    return access.visible_policies(request.user).select_related("zone").order_by("code", "id")


@router.get("/policies/{policy_id}", response=PolicyDetailOut)
def get_policy(request: HttpRequest, policy_id: int):
    """One policy with its versions (enterprise users: the published one only)."""
    policy = access.get_visible_policy(request.user, policy_id)
    policy.versions_list = list(access.visible_versions(request.user, policy))
    return policy


@router.get("/policies/{policy_id}/matches", response=list[MatchOut])
@paginate(LimitOffsetPagination)
def policy_matches(request: HttpRequest, policy_id: int, status: str = ""):
    """Stored results of the policy's published version (enterprise users: their own)."""
    policy = access.get_visible_policy(request.user, policy_id)
    rows = access.visible_matches(request.user).filter(
        policy=policy, version__status=PolicyVersion.Status.PUBLISHED
    )
    if status:
        rows = rows.filter(status=status)
    lang = _lang(request)
    rows = rows.select_related("policy", "version", "enterprise").order_by("enterprise__uscc", "id")
    return [_match(m, lang) for m in rows]


@router.post("/match", response={200: list[MatchRunOut], 403: ErrorOut})
def match_now(request: HttpRequest):
    """Match every published policy of the caller's zones now (zone admins)."""
    zones = list(access.managed_zones(request.user))
    if not zones:
        return _forbidden("only zone administrators match policies")
    runs = [do_match_policies(request.user, z, reason="api") for z in zones]
    return Status(200, [r for r in runs if r is not None])


# ---------------------------------------------------------------------------- firm


def _firm(request: HttpRequest, firm) -> dict[str, Any]:
    ensure_fresh(firm)
    lang = _lang(request)
    rows = list(
        access.visible_matches(request.user)
        .filter(enterprise=firm, version__status=PolicyVersion.Status.PUBLISHED)
        .select_related("policy", "version", "enterprise")
        .order_by("policy__code")
    )
    year = max((m.year for m in rows), default=None)
    rows = [m for m in rows if m.year == year]
    eligible = [_match(m, lang) for m in rows if m.status == "eligible"]
    return {
        "uscc": firm.uscc,
        "name": firm.name,
        "year": year,
        "computed_at": max((m.computed_at for m in rows), default=None),
        "eligible": eligible,
        "near_misses": [
            _match(m, lang)
            for m in rows
            if m.status == "ineligible" and m.near_miss and m.near_miss_blocked is False
        ],
        "unknown": [_match(m, lang) for m in rows if m.status == "unknown"],
        "total_amount": round(sum(e["amount"] or 0 for e in eligible), 2),
    }


@router.get("/firms/{uscc}", response=FirmMatchesOut)
def firm_matches(request: HttpRequest, uscc: str):
    """A firm's policies: eligible with amounts, near-misses with what is lacking,
    unknown with the data to provide (rematched first when stale)."""
    return _firm(request, access.get_policy_firm(request.user, uscc))


@router.get("/mine", response=FirmMatchesOut)
def my_matches(request: HttpRequest):
    """我的政策 of the enterprise user's own firm (404 for other roles)."""
    firm = access.own_firm(request.user)
    if firm is None:
        from django.http import Http404

        raise Http404("no firm")
    return _firm(request, firm)


# ---------------------------------------------------------------------------- applications


@router.get("/applications", response=list[ApplicationOut])
@paginate(LimitOffsetPagination)
def list_applications(request: HttpRequest, status: str = "", overdue: bool = False):
    """Applications the caller may read (admins: their zones'; an enterprise: its own)."""
    apps = (
        access.visible_applications(request.user)
        .select_related("policy", "version", "enterprise")
        .prefetch_related("attachments")
    )
    if status:
        apps = apps.filter(status=status)
    if overdue:
        apps = apps.filter(
            status__in=["submitted", "accepted", "approved"], due_on__lt=dt.date.today()
        )
    return apps.order_by("-submitted_at", "-id")


@router.get("/applications/{application_id}", response=ApplicationOut)
def get_application(request: HttpRequest, application_id: int):
    """One application (404 outside the caller's scope)."""
    return access.get_visible_application(request.user, application_id)


@router.post("/applications", response={201: ApplicationOut, 400: ErrorOut, 403: ErrorOut})
def submit_application(
    request: HttpRequest,
    policy: Form[int],
    period: Form[str],
    note: Form[str] = "",
    contact: Form[str] = "",
    files: File[list[UploadedFile]] = None,
):
    """Apply to an application-mode policy (multipart; enterprise users of its zone;
    pdf/jpg/png/xlsx, each ≤ 10 MB)."""
    target = access.get_visible_policy(request.user, policy)
    if not access.can_apply(request.user, target):
        return _forbidden("only enterprise users of the policy's zone apply")
    try:
        app = do_submit_application(
            request.user, target, period, files=files or [], note=note, contact=contact
        )
    except PolicyError as exc:
        return _error(exc)
    return Status(201, access.get_visible_application(request.user, app.pk))


@router.post(
    "/applications/{application_id}/{step}",
    response={200: ApplicationOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def review_application(
    request: HttpRequest,
    application_id: int,
    step: Literal["accept", "approve", "reject", "pay"],
    payload: DecisionIn,
):
    """Take the next step (zone admins): accept, approve (amount), reject (reason), pay."""
    app = access.get_visible_application(request.user, application_id)
    if not access.can_review_application(request.user, app):
        return _forbidden("only the zone's administrators review applications")
    try:
        if step == "accept":
            do_accept_application(request.user, app)
        elif step == "approve":
            do_approve_application(request.user, app, amount=payload.amount)
        elif step == "reject":
            do_reject_application(request.user, app, payload.reason)
        else:
            do_pay_application(request.user, app)
    except PolicyError as exc:
        return _error(exc)
    return Status(200, access.get_visible_application(request.user, app.pk))


# ---------------------------------------------------------------------------- payouts


@router.get("/payouts", response=list[PayoutOut])
@paginate(LimitOffsetPagination)
def list_payouts(request: HttpRequest, period: str = ""):
    """Payout records the caller may read (admins: their zones'; an enterprise: its own)."""
    rows = access.visible_payouts(request.user).select_related("policy", "enterprise")
    if period:
        rows = rows.filter(period=period)
    return rows.order_by("-created_at", "-id")


@router.get("/batches/{batch_id}", response=BatchOut)
def get_batch(request: HttpRequest, batch_id: int):
    """A payout batch with its lines (admins and supervisors of the zone)."""
    batch = access.get_visible_batch(request.user, batch_id)
    if not access.can_view_catalogue(request.user):
        from django.http import Http404

        raise Http404("batch not found")
    return batch


@router.post(
    "/policies/{policy_id}/batches",
    response={201: BatchOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def propose_batch(request: HttpRequest, policy_id: int, payload: BatchIn):
    """Propose the payout batch of a no-application policy for a period (zone admins)."""
    policy = access.get_visible_policy(request.user, policy_id)
    if not access.can_manage_policy(request.user, policy):
        return _forbidden("only the zone's administrators propose payouts")
    if not 1 <= payload.objection_days <= 60:
        return Status(400, {"detail": "objection_days: 1 to 60", "code": "objection_days"})
    try:
        batch = do_propose_batch(
            request.user,
            policy,
            payload.period,
            shortfall_rule=payload.shortfall_rule,
            objection_days=payload.objection_days,
        )
    except PolicyError as exc:
        return _error(exc)
    return Status(201, batch)


@router.post(
    "/batches/{batch_id}/approve",
    response={200: BatchOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
)
def approve_batch(request: HttpRequest, batch_id: int):
    """Approve a proposed batch: payout records written, firms notified (zone admins)."""
    batch = access.get_visible_batch(request.user, batch_id)
    if not access.can_manage_policy(request.user, batch.policy):
        return _forbidden("only the zone's administrators approve payouts")
    try:
        do_approve_batch(request.user, batch)
    except PolicyError as exc:
        return _error(exc)
    batch.refresh_from_db()
    return Status(200, batch)
