"""Scoring API: model versions, runs, paginated results, one firm's explanation, external
points. Every read goes through `scoring.access`: enterprise and bank users get empty
lists, objects of other zones are 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from innopoints.scoring import access
from innopoints.scoring.results import explain_firm

router = Router(tags=["scoring"])


class ModelVersionOut(Schema):
    id: int
    zone: str
    model_id: str
    version: str
    name_zh: str
    name_en: str
    effective_from: dt.date
    content_hash: str
    shipped: bool
    uploaded_at: dt.datetime

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code


class ModelVersionDetailOut(ModelVersionOut):
    document: dict[str, Any]
    activated_years: list[int]

    @staticmethod
    def resolve_activated_years(obj) -> list[int]:
        return list(obj.activations.order_by("year").values_list("year", flat=True))


class RunOut(Schema):
    id: int
    zone: str
    year: int
    model_version_id: int
    model_version: str
    status: str
    data_hash: str
    model_hash: str
    run_hash: str
    counts: dict[str, Any]
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code

    @staticmethod
    def resolve_model_version(obj) -> str:
        return str(obj.model_version)


class RankFieldsOut(Schema):
    """A firm's stage, total, band and ranks in a run (results here, rankings in the portal)."""

    stage: str
    industry_section: str
    total: float | None
    band: str
    rank_zone: int | None
    n_zone: int | None
    pct_zone: float | None
    rank_stage: int | None
    n_stage: int | None
    pct_stage: float | None
    rank_industry: int | None
    n_industry: int | None
    pct_industry: float | None


class FirmScoreOut(RankFieldsOut):
    uscc: str
    name: str
    year: int
    node_points: dict[str, float | None]
    indicator_points: dict[str, float | None]

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc

    @staticmethod
    def resolve_name(obj) -> str:
        return obj.enterprise.name


class ExplanationRow(Schema):
    kind: str
    item: str
    name: str
    parent: str | None
    field: str
    raw: float | None
    value: float | None
    normalised: float | None
    peer_median: float | None
    points: float | None
    contribution: float | None
    missing: bool
    treatment: str


class ExplanationOut(Schema):
    run: int
    uscc: str
    total: float | None
    data_changed: bool
    recomputed_run_hash: str
    stored_run_hash: str
    indicators: list[ExplanationRow]
    adjustments: list[ExplanationRow]


class ExternalScoreOut(Schema):
    zone: str
    year: int
    uscc: str
    source: str
    points: float
    rank: int | None

    @staticmethod
    def resolve_zone(obj) -> str:
        return obj.zone.code

    @staticmethod
    def resolve_uscc(obj) -> str:
        return obj.enterprise.uscc


@router.get("/models", response=list[ModelVersionOut])
@paginate(LimitOffsetPagination)
def list_model_versions(request: HttpRequest):
    """Model versions of the zones the user may read."""
    return access.visible_model_versions(request.user).select_related("zone")


@router.get("/models/{version_id}", response=ModelVersionDetailOut)
def get_model_version(request: HttpRequest, version_id: int):
    """One model version with its canonical document and the years it is activated for."""
    return access.get_visible_model_version(request.user, version_id)


@router.get("/runs", response=list[RunOut])
@paginate(LimitOffsetPagination)
def list_runs(request: HttpRequest, year: int | None = None):
    """Scoring runs of the zones the user may read, newest first."""
    runs = access.visible_runs(request.user).select_related("zone", "model_version")
    return runs.filter(year=year) if year else runs


@router.get("/runs/{run_id}", response=RunOut)
def get_run(request: HttpRequest, run_id: int):
    """One scoring run (404 outside the user's zones)."""
    return access.get_visible_run(request.user, run_id)


@router.get("/runs/{run_id}/results", response=list[FirmScoreOut])
@paginate(LimitOffsetPagination)
def list_run_results(
    request: HttpRequest, run_id: int, stage: str = "", section: str = "", band: str = ""
):
    """A run's firm scores by zone rank; filter by stage, industry section, band."""
    run = access.get_visible_run(request.user, run_id)
    scores = access.visible_firm_scores(request.user, run).select_related("enterprise")
    if stage:
        scores = scores.filter(stage=stage)
    if section:
        scores = scores.filter(industry_section=section[:1])
    if band:
        scores = scores.filter(band="" if band == "none" else band)
    return scores.order_by("rank_zone", "enterprise__uscc")


@router.get("/runs/{run_id}/firms/{uscc}", response=ExplanationOut)
def get_firm_explanation(request: HttpRequest, run_id: int, uscc: str):
    """One firm's indicator breakdown in a run (recomputed; `data_changed` if the data moved)."""
    run = access.get_visible_run(request.user, run_id)
    score = (
        access.visible_firm_scores(request.user, run)
        .select_related("enterprise")
        .filter(enterprise__uscc=uscc.upper())
        .first()
    )
    if score is None:
        raise Http404("firm not in this run")
    lang = "en" if (getattr(request, "LANGUAGE_CODE", "") or "").startswith("en") else "zh"
    explanation = explain_firm(run, score.enterprise.uscc, lang)
    return {
        "run": run.pk,
        "uscc": score.enterprise.uscc,
        "total": score.total,
        "data_changed": explanation.data_changed,
        "recomputed_run_hash": explanation.recomputed_run_hash,
        "stored_run_hash": run.run_hash,
        "indicators": explanation.rows,
        "adjustments": explanation.extras,
    }


@router.get("/external", response=list[ExternalScoreOut])
@paginate(LimitOffsetPagination)
def list_external_scores(
    request: HttpRequest, year: int | None = None, source: str = "", uscc: str = ""
):
    """Externally computed points of the zones the user may read."""
    scores = access.visible_external_scores(request.user).select_related("zone", "enterprise")
    if year:
        scores = scores.filter(year=year)
    if source:
        scores = scores.filter(source=source)
    if uscc:
        scores = scores.filter(enterprise__uscc=uscc.upper())
    return scores.order_by("zone__code", "-year", "source", "rank", "enterprise__uscc")
